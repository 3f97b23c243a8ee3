import { describe, expect, it } from "vitest";
import type { LogItem } from "../../api/types";
import { arrive, EMPTY_LIVE, MAX_LIVE_ROWS, release, waiting } from "./liveBuffer";

const run = (n: number) => ({ id: `id-${n}` }) as LogItem;
const ids = (rows: LogItem[]) => rows.map((r) => r.id);

describe("live buffer", () => {
  it("puts arrivals on top, newest first", () => {
    const state = arrive(arrive(EMPTY_LIVE, [run(1), run(2)], false), [run(3)], false);
    expect(ids(state.rows)).toEqual(["id-3", "id-2", "id-1"]);
  });

  it("caps the rendered rows, dropping the oldest", () => {
    const many = Array.from({ length: MAX_LIVE_ROWS + 20 }, (_, i) => run(i));
    const state = arrive(EMPTY_LIVE, many, false);
    expect(state.rows).toHaveLength(MAX_LIVE_ROWS);
    expect(state.rows[0].id).toBe(`id-${MAX_LIVE_ROWS + 19}`);
  });

  it("holds arrivals while paused and counts them, then shows them on resume", () => {
    let state = arrive(EMPTY_LIVE, [run(1)], false);
    state = arrive(state, [run(2), run(3)], true);
    expect(ids(state.rows)).toEqual(["id-1"]);
    expect(waiting(state)).toBe(2);
    state = release(state);
    expect(ids(state.rows)).toEqual(["id-3", "id-2", "id-1"]);
    expect(waiting(state)).toBe(0);
  });

  it("counts what it could not keep and what the service missed", () => {
    const many = Array.from({ length: MAX_LIVE_ROWS + 5 }, (_, i) => run(i));
    const state = arrive(EMPTY_LIVE, many, true, 7);
    expect(waiting(state)).toBe(MAX_LIVE_ROWS);
    expect(state.uncounted).toBe(12);
  });
});
