-- Row-level security lets a condition lead an index scan only when every function it
-- applies to a row is LEAKPROOF (else a function's error could tell one tenant about
-- another's rows). A search's `workflow_log_search_document(...) @@ query` uses two that
-- are not marked: ts_match_vq (`@@`), and the document function. Neither raises an
-- error on row data (the document function bounds what it reads so that no tsvector
-- passes PostgreSQL's limit). Without the mark the search computes the words of every
-- row of the tenant's time range (docs/performance.md, "Search"). Marking takes a
-- superuser: without one, a warning says what to run, and search answers, slowly.
DO $$
BEGIN
    IF (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
        ALTER FUNCTION pg_catalog.ts_match_vq(tsvector, tsquery) LEAKPROOF;
        ALTER FUNCTION pg_catalog.lower(text) LEAKPROOF;
        ALTER FUNCTION workflow_log_search_document(text, text, jsonb) LEAKPROOF;
    ELSE
        RAISE WARNING 'search by words cannot use its index under row-level security until'
            ' a superuser runs: ALTER FUNCTION pg_catalog.ts_match_vq(tsvector, tsquery)'
            ' LEAKPROOF; ALTER FUNCTION pg_catalog.lower(text) LEAKPROOF;'
            ' ALTER FUNCTION workflow_log_search_document(text, text, jsonb) LEAKPROOF';
    END IF;
END
$$;
