-- A transaction sees and writes only the rows of the tenant it stated, or every row
-- when it states the provider (db/tenancy.py states both, per transaction). FORCE
-- applies the policy to the tables' owner too. `{table}`: each table of
-- definitions.TENANT_ISOLATED.
ALTER TABLE {table} ENABLE ROW LEVEL SECURITY;
ALTER TABLE {table} FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON {table}
    USING (client_id = current_setting('app.client_id', true)
           OR current_setting('app.is_admin', true) = 'on')
    WITH CHECK (client_id = current_setting('app.client_id', true)
                OR current_setting('app.is_admin', true) = 'on');
