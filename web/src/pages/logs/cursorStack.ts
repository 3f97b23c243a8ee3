/**
 * Cursor paging kept in the URL: `after` holds, in order, the cursor of every page
 * after the first that the user walked through. The last one is the current page,
 * so a reload or a shared link shows the same page, and "previous" pops.
 */
export const CURSOR_PARAM = "after";

export interface CursorStack {
  cursors: string[];
}

export function stackFromSearch(search: URLSearchParams): CursorStack {
  return { cursors: search.getAll(CURSOR_PARAM).filter(Boolean) };
}

export function currentCursor(stack: CursorStack): string | null {
  return stack.cursors.length ? stack.cursors[stack.cursors.length - 1] : null;
}

/** 1-based number of the page the stack points at. */
export function pageNumber(stack: CursorStack): number {
  return stack.cursors.length + 1;
}

export function push(stack: CursorStack, next: string): CursorStack {
  return { cursors: [...stack.cursors, next] };
}

export function pop(stack: CursorStack): CursorStack {
  return { cursors: stack.cursors.slice(0, -1) };
}

export function hasPrevious(stack: CursorStack): boolean {
  return stack.cursors.length > 0;
}

/** Returns a copy of `search` whose cursor params are those of `stack`. */
export function stackToSearch(search: URLSearchParams, stack: CursorStack): URLSearchParams {
  const next = new URLSearchParams(search);
  next.delete(CURSOR_PARAM);
  for (const c of stack.cursors) next.append(CURSOR_PARAM, c);
  return next;
}
