"""The live tail: stored logs as Server-Sent Events, fanned out across processes."""
