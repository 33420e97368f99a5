-- Baton fence schema, version 3, in schema baton: the SQL fence protocol (docs/fence-protocol.md).
--
--   psql -v ON_ERROR_STOP=1 -h HOST -U OWNER -d DB -f fence-schema-v3.sql
--
-- Idempotent and cumulative: installs version 3 on a database that has no fence schema, upgrades
-- one that has version 1 or 2 in place (its fence rows and the triggers that call require_fence
-- stay as they are), does nothing on one that has version 3, and refuses (SQLSTATE BT000) one that
-- has a newer version. Run it on the primary, as the role that owns the schema. It is the exact text
-- FenceSchema.install (Java) runs: that runs the statements between BEGIN and COMMIT in a
-- transaction of its own, with the word baton replaced by its schema name wherever it names the
-- schema.
\set ON_ERROR_STOP on
BEGIN;
SET LOCAL client_min_messages = warning;
-- Serialises concurrent installers (this file, FenceSchema.install, and the installers of earlier
-- versions, which take the same lock) until this transaction ends.
SELECT pg_advisory_xact_lock(108170704809473) AS baton_install_lock;
CREATE SCHEMA IF NOT EXISTS baton;
CREATE TABLE IF NOT EXISTS baton.schema_version (version integer PRIMARY KEY, description text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now());
DO $install$
DECLARE
  installed integer;
BEGIN
  SELECT coalesce(max(version), 0) INTO installed FROM baton.schema_version;
  IF installed > 3 THEN
    RAISE EXCEPTION 'the fence schema baton is at version %, newer than this installer knows (3): upgrade Baton, or install with fence-schema-v%.sql', installed, installed
      USING ERRCODE = 'BT000';
  END IF;
  IF installed < 1 THEN
    -- Version 1. One row per fenced resource: the token of its current active.
    CREATE TABLE IF NOT EXISTS baton.fence (resource text PRIMARY KEY, token bigint NOT NULL CHECK (token >= 0), updated_at timestamptz NOT NULL DEFAULT now());
    -- Version 1 also created check_fence and require_fence; version 2 below (re)defines
    -- require_fence and version 3 check_fence, so a fresh install and an upgrade from an earlier
    -- version end with the same objects.
    INSERT INTO baton.schema_version (version, description) VALUES (1, 'fence table, check_fence, require_fence');
  END IF;
  IF installed < 2 THEN
    -- Version 2 also changed the hint of check_fence's BT002 (version 1's named a Java class);
    -- version 3 below redefines check_fence.
    -- The guard for tables (TG_ARGV[0] is the resource): refuses a write in a transaction that
    -- has not passed check_fence for that resource. Declared FOR EACH STATEMENT (as documented)
    -- it runs once per statement. Version 2: declared FOR EACH ROW it passes the row on (NEW,
    -- or OLD for a DELETE), where version 1 returned NULL, which a BEFORE row trigger reads as
    -- "skip this row", so every row of a checked transaction was dropped without an error. An
    -- INSTEAD OF trigger on a view writes nothing itself: passing the row on there would count a
    -- row that no one wrote, and NULL would drop it, so that declaration refuses every write.
    CREATE OR REPLACE FUNCTION baton.require_fence() RETURNS trigger LANGUAGE plpgsql AS $fn$
DECLARE p_resource text := TG_ARGV[0];
BEGIN
  IF TG_WHEN = 'INSTEAD OF' THEN
    RAISE EXCEPTION 'baton.require_fence on %.% is declared INSTEAD OF, which would write nothing: declare it BEFORE INSERT OR UPDATE OR DELETE on the table that the view writes to', TG_TABLE_SCHEMA, TG_TABLE_NAME
      USING ERRCODE = '39P01';
  END IF;
  IF p_resource IS NULL THEN
    RAISE EXCEPTION 'baton.require_fence on %.% is declared without a resource: declare it as EXECUTE FUNCTION baton.require_fence(''resource'')', TG_TABLE_SCHEMA, TG_TABLE_NAME
      USING ERRCODE = '39P01';
  END IF;
  IF coalesce(current_setting('baton.f' || md5('baton:' || p_resource), true), '') = '' THEN
    RAISE EXCEPTION 'write to %.% refused: the transaction did not check the fence of resource "%": call baton.check_fence(%, token) first in the transaction, with the token of the active node', TG_TABLE_SCHEMA, TG_TABLE_NAME, p_resource, quote_literal(p_resource)
      USING ERRCODE = 'BT004', HINT = 'BEGIN; SELECT baton.check_fence(resource, token); then the writes; COMMIT (docs/fence-protocol.md)';
  END IF;
  IF TG_LEVEL = 'ROW' THEN
    IF TG_OP = 'DELETE' THEN
      RETURN OLD;
    END IF;
    RETURN NEW;
  END IF;
  RETURN NULL;
END
$fn$;

    INSERT INTO baton.schema_version (version, description) VALUES (2, 'require_fence passes the row on when declared FOR EACH ROW; its refusal names check_fence');
  END IF;
  IF installed < 3 THEN
    -- Version 3: a time bound on the fence, in a table of its own. The active node renews
    -- valid_until (the database's clock_timestamp() plus what is left of its lease, less its drift
    -- and round-trip allowances) with an UPDATE of this table only. check_fence locks the row of
    -- baton.fence FOR SHARE and only reads this one, so a renewal never waits for a writer, and
    -- no writer waits for a renewal. A lease counts only while its token is the fence's token; a
    -- NULL valid_until, or no row, is unbounded (version 2's behaviour).
    CREATE TABLE IF NOT EXISTS baton.fence_lease (resource text PRIMARY KEY, token bigint NOT NULL CHECK (token >= 0), valid_until timestamptz, renewed_at timestamptz NOT NULL DEFAULT clock_timestamp());
    -- One row per bounded check, inserted and deleted again by check_fence in the same
    -- transaction: its only purpose is the deferred constraint trigger below, which runs at
    -- COMMIT. Unlogged: it never holds a committed row, and its changes write no WAL.
    CREATE UNLOGGED TABLE IF NOT EXISTS baton.fence_commit_check (resource text NOT NULL, token bigint NOT NULL);
    -- At COMMIT (the deferred constraint trigger): refuses the commit once the lease the
    -- transaction checked against has passed, so a transaction that passed check_fence before the
    -- lapse cannot commit after it. SECURITY DEFINER: at COMMIT it runs as the writer's role,
    -- which needs no privilege on the lease table.
    CREATE OR REPLACE FUNCTION baton.check_fence_at_commit() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE lease_until timestamptz; checked_at timestamptz := clock_timestamp();
BEGIN
  SELECT l.valid_until INTO lease_until FROM baton.fence_lease l WHERE l.resource = NEW.resource AND l.token = NEW.token;
  IF lease_until IS NOT NULL AND lease_until <= checked_at THEN
    RAISE EXCEPTION 'commit refused: the fence lease of resource "%" for token % ended at % (database clock at commit: %): the active node stopped renewing it, so this transaction commits nothing', NEW.resource, NEW.token, to_json(lease_until)#>>'{}', to_json(checked_at)#>>'{}'
      USING ERRCODE = 'BT008', DETAIL = 'fenced_token=' || NEW.token || ' valid_until=' || (to_json(lease_until)#>>'{}'),
            HINT = 'the node that holds this token is cut off, paused or gone; re-read the token from the active node';
  END IF;
  RETURN NULL;
END
$fn$;
    DROP TRIGGER IF EXISTS fence_lease_at_commit ON baton.fence_commit_check;
    CREATE CONSTRAINT TRIGGER fence_lease_at_commit AFTER INSERT ON baton.fence_commit_check DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION baton.check_fence_at_commit();
    -- Called first in every fenced write transaction. FOR SHARE (not FOR KEY SHARE) conflicts
    -- with the UPDATE that advances the token, so an advance waits for this transaction to end,
    -- and this transaction can never commit after an advance it did not see. SECURITY DEFINER
    -- with a pinned search_path: an application role needs EXECUTE on it and USAGE on the
    -- schema, not UPDATE on the fence table, so it can lock and check the row but never move it.
    -- The set_config mark is transaction-local (undone with the transaction or a rolled-back
    -- savepoint, like the row lock); require_fence reads it. Version 3 adds the time bound: with a
    -- lease for the fenced token, a check after valid_until fails with BT007, and one before it
    -- queues the commit-time check (BT008). clock_timestamp(), not now(): now() is the
    -- transaction's start. CREATE OR REPLACE keeps its owner and grants.
    CREATE OR REPLACE FUNCTION baton.check_fence(p_resource text, p_token bigint) RETURNS bigint LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE fenced bigint; lease_until timestamptz; checked_at timestamptz; pending tid;
BEGIN
  SELECT f.token INTO fenced FROM baton.fence f WHERE f.resource = p_resource FOR SHARE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'no fence row for resource "%" in baton.fence: no active has advanced this fence yet', p_resource
      USING ERRCODE = 'BT002', HINT = 'a promotion creates and advances the row of each resource it fences; check the resource name, and wait for the promotion';
  END IF;
  IF p_token < fenced THEN
    RAISE EXCEPTION 'stale fencing token for resource "%": offered token %, the fence holds token % (a newer active has taken over)', p_resource, p_token, fenced
      USING ERRCODE = 'BT001', DETAIL = 'fenced_token=' || fenced;
  END IF;
  IF p_token > fenced THEN
    RAISE EXCEPTION 'fencing token % for resource "%" is ahead of the fence, which holds token %: the active must advance the fence before it writes', p_token, p_resource, fenced
      USING ERRCODE = 'BT003', DETAIL = 'fenced_token=' || fenced;
  END IF;
  SELECT l.valid_until INTO lease_until FROM baton.fence_lease l WHERE l.resource = p_resource AND l.token = fenced;
  IF lease_until IS NOT NULL THEN
    checked_at := clock_timestamp();
    IF lease_until <= checked_at THEN
      RAISE EXCEPTION 'the fence lease of resource "%" for token % ended at % (database clock now: %): the active node stopped renewing it (cut off, paused or gone), so writes with this token are refused', p_resource, fenced, to_json(lease_until)#>>'{}', to_json(checked_at)#>>'{}'
        USING ERRCODE = 'BT007', DETAIL = 'fenced_token=' || fenced || ' valid_until=' || (to_json(lease_until)#>>'{}'),
              HINT = 're-read the token from the active node; a node that is still active renews the lease within moments';
    END IF;
    INSERT INTO baton.fence_commit_check (resource, token) VALUES (p_resource, fenced) RETURNING ctid INTO pending;
    DELETE FROM baton.fence_commit_check WHERE ctid = pending;
  END IF;
  PERFORM set_config('baton.f' || md5('baton:' || p_resource), p_token::text, true);
  RETURN fenced;
END
$fn$;

    INSERT INTO baton.schema_version (version, description) VALUES (3, 'fence_lease: a time bound (valid_until) that check_fence and the commit enforce');
  END IF;
END
$install$;
COMMIT;
