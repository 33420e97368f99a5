-- Baton fence schema, version 2, in schema baton: the SQL fence protocol (docs/fence-protocol.md).
--
--   psql -v ON_ERROR_STOP=1 -h HOST -U OWNER -d DB -f fence-schema-v2.sql
--
-- Idempotent and cumulative: installs version 2 on a database that has no fence schema, upgrades
-- one that has version 1 in place (its fence rows and the triggers that call require_fence stay
-- as they are), does nothing on one that has version 2, and refuses (SQLSTATE BT000) one that has
-- a newer version. Run it on the primary, as the role that owns the schema. It is the exact text
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
  IF installed > 2 THEN
    RAISE EXCEPTION 'the fence schema baton is at version %, newer than this installer knows (2): upgrade Baton, or install with fence-schema-v%.sql', installed, installed
      USING ERRCODE = 'BT000';
  END IF;
  IF installed < 1 THEN
    -- Version 1. One row per fenced resource: the token of its current active.
    CREATE TABLE IF NOT EXISTS baton.fence (resource text PRIMARY KEY, token bigint NOT NULL CHECK (token >= 0), updated_at timestamptz NOT NULL DEFAULT now());
    -- Version 1 also created check_fence and require_fence; version 2 below (re)defines both, so
    -- a fresh install and an upgrade from version 1 end with the same objects.
    INSERT INTO baton.schema_version (version, description) VALUES (1, 'fence table, check_fence, require_fence');
  END IF;
  IF installed < 2 THEN
    -- Called first in every fenced write transaction. FOR SHARE (not FOR KEY SHARE) conflicts
    -- with the UPDATE that advances the token, so an advance waits for this transaction to end,
    -- and this transaction can never commit after an advance it did not see. SECURITY DEFINER
    -- with a pinned search_path: an application role needs EXECUTE on it and USAGE on the
    -- schema, not UPDATE on the fence table, so it can lock and check the row but never move it.
    -- The set_config mark is transaction-local (undone with the transaction or a rolled-back
    -- savepoint, like the row lock); require_fence reads it. Version 2 changes only the hint of
    -- BT002 (version 1's named a Java class); CREATE OR REPLACE keeps its owner and grants.
    CREATE OR REPLACE FUNCTION baton.check_fence(p_resource text, p_token bigint) RETURNS bigint LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE fenced bigint;
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
  PERFORM set_config('baton.f' || md5('baton:' || p_resource), p_token::text, true);
  RETURN fenced;
END
$fn$;

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
END
$install$;
COMMIT;
