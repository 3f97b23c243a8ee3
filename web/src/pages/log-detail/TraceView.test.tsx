import { afterEach, describe, expect, it } from "vitest";
import { cleanup, fireEvent, render, screen } from "@testing-library/react";
import { TraceView } from "./LogDetailPage";
import { parseTrace } from "./trace";

afterEach(cleanup);

describe("TraceView", () => {
  it("lists every step with duration and share, and expands to inputs and outputs", () => {
    const trace = parseTrace(
      {
        trace: [
          { name: "classify", duration_seconds: 1, input: { text: "charged twice" }, output: { label: "billing" }, status: "ok" },
          { step: "respond", duration_ms: 3000 },
        ],
      },
      4,
    );
    render(<TraceView trace={trace} />);
    const names = screen.getAllByTestId("trace-step-name").map((n) => n.textContent);
    expect(names).toEqual(["classify", "respond"]);
    expect(screen.getAllByTestId("trace-step-duration").map((n) => n.textContent)).toEqual(["1.00 s", "3.00 s"]);
    expect(screen.getByText("25.0%")).toBeTruthy();
    expect(screen.getByText("75.0%")).toBeTruthy();

    const button = screen.getAllByRole("button", { expanded: false })[0];
    expect(screen.queryByText('"charged twice"')).toBeNull();
    fireEvent.click(button);
    expect(button.getAttribute("aria-expanded")).toBe("true");
    expect(screen.getByText('"charged twice"')).toBeTruthy();
    expect(screen.getByText('"billing"')).toBeTruthy();
  });

  it("explains a malformed trace", () => {
    render(<TraceView trace={parseTrace({ trace: 42 })} />);
    expect(screen.getByTestId("trace-problem").textContent).toContain("a number");
  });

  it("says so when there is no trace", () => {
    render(<TraceView trace={parseTrace({})} />);
    expect(screen.getByTestId("trace-absent")).toBeTruthy();
  });
});
