import { useState, type FormEvent } from "react";
import type { AlertChannel, AlertChannelCreate, AlertChannelCreated } from "../../api/types";
import { CopyButton } from "../../components/JsonViewer";
import { Empty } from "../../components/States";
import { ProblemList } from "./RuleForm";
import { useAlertChanges } from "./useAlerts";

type Kind = AlertChannelCreate["kind"];

function ChannelForm({ onCreated }: { onCreated: (created: AlertChannelCreated) => void }) {
  const { createChannel } = useAlertChanges();
  const [name, setName] = useState("");
  const [kind, setKind] = useState<Kind>("webhook");
  const [target, setTarget] = useState("");
  function submit(event: FormEvent) {
    event.preventDefault();
    const spec: AlertChannelCreate =
      kind === "email"
        ? { name: name.trim(), kind, recipients: target.split(",").map((r) => r.trim()).filter(Boolean) }
        : { name: name.trim(), kind, url: target.trim() };
    createChannel.mutate(spec, {
      onSuccess: (created) => {
        setName("");
        setTarget("");
        onCreated(created);
      },
    });
  }
  return (
    <form className="filters" onSubmit={submit} aria-label="New channel">
      <label className="field">
        <span>Channel name</span>
        <input name="channel_name" value={name} onChange={(e) => setName(e.target.value)} required />
      </label>
      <label className="field">
        <span>Kind</span>
        <select name="channel_kind" value={kind} onChange={(e) => setKind(e.target.value as Kind)}>
          <option value="webhook">Webhook (signed)</option>
          <option value="slack">Slack incoming webhook</option>
          <option value="email">Email</option>
        </select>
      </label>
      <label className="field">
        <span>{kind === "email" ? "Recipients (comma-separated)" : "URL"}</span>
        <input name="channel_target" value={target} onChange={(e) => setTarget(e.target.value)} required />
      </label>
      <div className="filters-actions">
        <button type="submit" className="button" disabled={createChannel.isPending}>
          Add channel
        </button>
      </div>
      <ProblemList error={createChannel.error} />
    </form>
  );
}

export function ChannelsSection({ channels }: { channels: AlertChannel[] }) {
  const { deleteChannel, testChannel } = useAlertChanges();
  const [created, setCreated] = useState<AlertChannelCreated | null>(null);
  const [tested, setTested] = useState<number | null>(null);
  return (
    <section className="card" aria-labelledby="channels-title">
      <h2 id="channels-title">Channels</h2>
      {created?.secret ? (
        <p className="notice" data-testid="channel-secret">
          Signing secret of “{created.name}”, shown this once: <code>{created.secret}</code>{" "}
          <CopyButton text={created.secret} label="Copy secret" />{" "}
          <button type="button" className="button" onClick={() => setCreated(null)}>
            I have stored it
          </button>
        </p>
      ) : null}
      {channels.length === 0 ? (
        <Empty title="No channels">Add a webhook, a Slack incoming webhook or email recipients.</Empty>
      ) : (
        <div className="table-wrap" tabIndex={0} role="region" aria-label="Channels (scrolls sideways)">
          <table className="table" data-testid="channels-table">
            <caption className="sr-only">Channels</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Kind</th>
                <th scope="col">Target</th>
                <th scope="col">Client</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {channels.map((c) => (
                <tr key={c.id} data-testid="channel-row">
                  <td>{c.name}</td>
                  <td>{c.kind}</td>
                  <td className="alert-target">{c.target}</td>
                  <td>{c.client_id ?? (c.provider ? "provider" : "—")}</td>
                  <td className="row-actions">
                    <button
                      type="button"
                      className="button"
                      onClick={() => testChannel.mutate(c.id, { onSuccess: () => setTested(c.id) })}
                    >
                      Send test
                    </button>{" "}
                    <button
                      type="button"
                      className="button button-danger"
                      onClick={() => window.confirm(`Delete channel “${c.name}”?`) && deleteChannel.mutate(c.id)}
                    >
                      Delete
                    </button>
                    {tested === c.id ? <span className="small muted"> test queued: see Deliveries</span> : null}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <ChannelForm onCreated={setCreated} />
    </section>
  );
}
