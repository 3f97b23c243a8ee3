import { describe, expect, it } from "vitest";
import { currentCursor, hasPrevious, pageNumber, pop, push, stackFromSearch, stackToSearch } from "./cursorStack";

describe("cursor stack", () => {
  it("starts on page 1 without a cursor", () => {
    const s = stackFromSearch(new URLSearchParams("category=x"));
    expect(pageNumber(s)).toBe(1);
    expect(currentCursor(s)).toBeNull();
    expect(hasPrevious(s)).toBe(false);
  });

  it("pushes and pops cursors", () => {
    let s = stackFromSearch(new URLSearchParams());
    s = push(s, "c2");
    s = push(s, "c3");
    expect(pageNumber(s)).toBe(3);
    expect(currentCursor(s)).toBe("c3");
    s = pop(s);
    expect(currentCursor(s)).toBe("c2");
    s = pop(s);
    expect(currentCursor(s)).toBeNull();
    expect(pop(s).cursors).toEqual([]);
  });

  it("lives in the URL beside the filters, in order", () => {
    const base = new URLSearchParams("status=FAILURE");
    const url = stackToSearch(base, { cursors: ["a/b+c=", "x"] });
    expect(url.get("status")).toBe("FAILURE");
    expect(url.getAll("after")).toEqual(["a/b+c=", "x"]);
    const back = stackFromSearch(new URLSearchParams(url.toString()));
    expect(back.cursors).toEqual(["a/b+c=", "x"]);
    expect(base.toString()).toBe("status=FAILURE");
    expect(stackToSearch(url, pop(back)).getAll("after")).toEqual(["a/b+c="]);
  });
});
