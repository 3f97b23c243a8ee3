-- The words of a log for search (`q` on the list; issue 14, docs/performance.md
-- "Search"), indexed by ix_workflow_logs_search: its ticket id and category, and every
-- string value of its payload (step names, errors, inputs, outputs), with the 'simple'
-- configuration: no stemming, no stop words, lower case, words as they were written.
-- A payload whose text passes 200 kB gives the words of its first 100,000 characters
-- instead (keys included), so no payload can make a tsvector past PostgreSQL's 1 MB
-- limit and fail its insert. Built-in, immutable functions only: no extension.
-- PL/pgSQL with a high COST, not an inlined SQL function: the planner must know that
-- computing a row's words is dear (~0.1 ms), or it filters a tenant's rows one by one
-- instead of reading the index (measured: 180 ms a page against a few).
CREATE OR REPLACE FUNCTION workflow_log_search_document(
    ticket_id text, category text, payload jsonb
) RETURNS tsvector
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE COST 10000 AS $$
BEGIN
    RETURN to_tsvector('simple'::regconfig,
                       COALESCE(ticket_id, '') || ' ' || COALESCE(category, ''))
        || CASE WHEN octet_length(COALESCE(payload, '{}'::jsonb)::text) <= 200000
           THEN jsonb_to_tsvector('simple'::regconfig, COALESCE(payload, '{}'::jsonb),
                                  '["string"]'::jsonb)
           ELSE to_tsvector('simple'::regconfig, left(payload::text, 100000))
           END;
END
$$;
