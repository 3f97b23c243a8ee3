// The OpenTelemetry JavaScript SDK and its OTLP/HTTP JSON exporter, as a Node.js
// workflow would use them: three runs, each a root with nested steps that start in the
// same millisecond as their parent (the SDK keeps milliseconds), one step failing with
// an exception. Prints the runs' trace ids, one per line. Driven by
// tests/api/test_otlp_javascript.py: node export_traces.mjs URL API_KEY
import { context, trace, SpanKind, SpanStatusCode } from "@opentelemetry/api";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { BasicTracerProvider, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";

const [url, apiKey] = process.argv.slice(2);
const exporter = new OTLPTraceExporter({ url: `${url}/v1/traces`, headers: { "X-API-Key": apiKey } });
const provider = new BasicTracerProvider({
  resource: resourceFromAttributes({
    "service.name": "triage-js",
    "service.version": "4.2.0",
    "deployment.environment.name": "staging",
  }),
  spanProcessors: [new SimpleSpanProcessor(exporter)],
});
const tracer = provider.getTracer("triage-js-agent", "1.0.0");

function child(parent, name, attributes = {}) {
  return tracer.startSpan(name, { attributes }, trace.setSpan(context.active(), parent));
}

const traceIds = [];
for (let run = 0; run < 3; run++) {
  const root = tracer.startSpan("handle-ticket", {
    kind: SpanKind.SERVER,
    attributes: { "workflow.ticket_id": `JS-${run}` },
  });
  const classify = child(root, "classify", { "workflow.category": "billing_issue" });
  const model = child(classify, "call_model", { "llm.model": "triage-small" });
  model.end();
  classify.end();
  const reply = child(root, "post_reply");
  reply.recordException(new Error("mail server refused"));
  reply.setStatus({ code: SpanStatusCode.ERROR, message: "mail server refused" });
  reply.end();
  root.end();
  traceIds.push(root.spanContext().traceId);
}
await provider.forceFlush();
await provider.shutdown();
console.log(traceIds.join("\n"));
