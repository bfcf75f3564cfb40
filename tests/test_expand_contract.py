"""Migrations expand, then contract: none breaks the previous release's running workers.

During an upgrade the previous release's workers (and web processes) keep running against the
migrated database until they are replaced. A migration may only *expand* what they use: add
tables, nullable columns or columns with a database default, indexes, permissions. Whatever
*contracts* (drops or renames a table or column, makes a column NOT NULL or narrower, adds a
column they would have to fill, adds a constraint their writes could break, changes data they
read) waits for the release after, when no worker of the old one runs.

The previous release is the one that wrote ``tests/fixtures/release1.sqlite3``: its
``django_migrations`` rows say which migrations it had; everything newer is checked here. A
migration that must contract anyway is listed in ``ALLOWED`` with the reason the old release's
workers still do not break (or what exactly they do, and what the operator does about it).
"""

import sqlite3

import pytest
from django.db import connection
from django.db.migrations import operations as ops
from django.db.migrations.loader import MigrationLoader
from django.db.models import NOT_PROVIDED

from tests.fixtures.make_release1 import FIXTURE

# The portal's own apps (the sandbox never runs in production: portal.E006).
APPS = ("portal", "integrations", "mappings", "rankr")

ALLOWED = {
    ("portal", "0004_encrypt_mfa_secrets"): (
        "Encrypts the TOTP secrets at rest. The release's workers never read them. Its web "
        "processes, while still serving, read the ciphertext as the secret: a user with TOTP "
        "signing in through one of them is refused (nothing is written) and succeeds on this "
        "release's. Replace the web processes together."
    ),
    ("portal", "0005_cache_table"): (
        "Creates the database cache table: a new table, nothing the release reads changes."
    ),
    ("portal", "0009_roles_agency_tenant"): (
        "Grants and revokes the roles' permissions (and adds the members of a portal's only "
        "agency): rows of auth and portal tables the release's workers never read."
    ),
    ("integrations", "0011_tasks_path_move"): (
        "Points the stored schedules at integrations.interfaces.tasks, which the release lacks. "
        "Tasks it queued keep working (this release keeps integrations.tasks). A scheduler of "
        "the release still running sends the tick to the new path and its worker records a "
        "failed task (ImportError) that wrote nothing; the next tick, on this release's worker, "
        "does the work (due jobs and subscriptions are picked up by time, not by tick). Stop "
        "the release's qcluster when starting this one's."
    ),
    ("integrations", "0014_location_plans_and_coverage"): (
        "Adds the partial unique constraint (location, plan) WHERE plan <> '': the release never "
        "writes plan (its rows get the database default '' from db_defaults_for_previous_release_writers), so its writes never meet it."
    ),
    ("integrations", "0025_partition_logs_by_day"): (
        "PostgreSQL only: rebuilds the sync log, job attempts and webhook events as tables "
        "partitioned by day, with the same columns, defaults, identity, indexes and constraint "
        "names (unique rules kept by triggers raising the same unique violation). The release's "
        "reads and writes are plain row statements that a partitioned table serves unchanged; "
        "the tables are locked during the copy, so its writers wait, and lose nothing."
    ),
    ("integrations", "0026_synclog_path_trigram"): (
        "PostgreSQL only: creates the pg_trgm extension and an index on the sync log's path; no "
        "row changes."
    ),
    ("integrations", "0017_roles_verifications_and_schedule"): (
        "Grants view permissions and adds the verifier's daily schedule: should a worker of the "
        "release take that task, it fails without writing (the release has no verify_all_task) "
        "and the next day's runs on this release's."
    ),
}


def _released() -> set[tuple[str, str]]:
    db = sqlite3.connect(FIXTURE)
    try:
        return {(app, name) for app, name in db.execute("SELECT app, name FROM django_migrations")}
    finally:
        db.close()


def _is_roles_grant(op) -> bool:
    """portal.roles.roles_migration: permissions only, which no worker reads."""
    return isinstance(op, ops.RunPython) and op.code.__qualname__.startswith("roles_migration.")


def _altered(old, new) -> list[str]:
    why = []
    if old.null and not new.null and new.db_default is NOT_PROVIDED:
        why.append("makes the column NOT NULL without a database default")
    if old.get_internal_type() != new.get_internal_type():
        why.append(f"changes its type ({old.get_internal_type()} → {new.get_internal_type()})")
    if old.db_column != new.db_column:
        why.append(f"renames its column ({old.db_column} → {new.db_column})")
    if old.max_length and new.max_length and new.max_length < old.max_length:
        why.append(f"narrows it ({old.max_length} → {new.max_length} characters)")
    return why


def contracting_operations() -> dict[tuple[str, str], list[str]]:
    """Every migration newer than the release that contracts what the release uses, with what."""
    loader = MigrationLoader(None, ignore_no_migrations=True)
    graph, released = loader.graph, _released()
    release_leaves = [
        node
        for node in released
        if node[0] in APPS
        and not any(
            child in released and child[0] == node[0] for child in graph.node_map[node].children
        )
    ]
    before = loader.project_state(release_leaves).models  # the release's models
    head = loader.project_state().models
    plan: list[tuple[str, str]] = []
    for leaf in sorted(graph.leaf_nodes()):
        plan += [n for n in graph.forwards_plan(leaf) if n not in plan]
    found: dict[tuple[str, str], list[str]] = {}
    for node in plan:
        app = node[0]
        if app not in APPS or node in released:
            continue
        state = loader.project_state(node, at_end=False)
        for op in graph.nodes[node].operations:
            key = (app, getattr(op, "model_name", getattr(op, "name", "")).lower())
            ours = key in before  # a model the release has
            why = ""
            if isinstance(op, (ops.DeleteModel, ops.RenameModel, ops.AlterModelTable)) and ours:
                why = f"{type(op).__name__} {op.name}"
            elif isinstance(op, (ops.RemoveField, ops.RenameField)) and ours:
                name = getattr(op, "old_name", getattr(op, "name", ""))
                if name in before[key].fields:
                    why = f"{type(op).__name__} {op.model_name}.{name}"
            elif isinstance(op, ops.AlterField) and ours and op.name in before[key].fields:
                reasons = _altered(state.models[key].fields[op.name], op.field)
                if reasons:
                    why = f"AlterField {op.model_name}.{op.name} " + "; ".join(reasons)
            elif isinstance(op, ops.AddField) and ours:
                final = head[key].fields.get(op.name)
                if (
                    final is not None
                    and not final.null
                    and not final.many_to_many
                    and final.db_default is NOT_PROVIDED
                ):
                    why = (
                        f"AddField {op.model_name}.{op.name}: NOT NULL without a database default "
                        "(the release's inserts leave it out)"
                    )
            elif isinstance(op, (ops.AddConstraint, ops.AlterUniqueTogether)) and ours:
                why = f"{type(op).__name__} on {op.name if hasattr(op, 'name') else op.model_name}"
            elif isinstance(op, (ops.RunPython, ops.RunSQL)) and not _is_roles_grant(op):
                why = f"{type(op).__name__}: changes data the release may read"
            if why:
                found.setdefault(node, []).append(why)
            op.state_forwards(app, state)
    return found


def test_every_contracting_migration_since_the_release_is_allowed_with_a_reason():
    found = contracting_operations()
    unexplained = {f"{a}.{n}": whats for (a, n), whats in found.items() if (a, n) not in ALLOWED}
    assert not unexplained, (
        "These migrations contract what the previous release's running workers use: make them "
        "expand only (nullable column or db_default, keep the old column or table until the "
        "release after), or list them in ALLOWED with the reason its workers do not break: "
        f"{unexplained}"
    )
    stale = sorted(set(ALLOWED) - set(found))
    assert not stale, f"ALLOWED names migrations that no longer contract anything: {stale}"


def test_the_check_catches_a_column_the_release_would_have_to_fill(monkeypatch):
    """Without its database default, job.lease_token (added since the release) is caught."""
    from django.db.migrations.loader import MigrationLoader as Loader

    original = Loader.project_state

    def without_db_default(self, nodes=None, at_end=True):
        state = original(self, nodes, at_end)
        if nodes is None:
            state.models["integrations", "job"].fields["lease_token"].db_default = NOT_PROVIDED
        return state

    monkeypatch.setattr(Loader, "project_state", without_db_default)
    found = contracting_operations()
    assert any(
        "AddField job.lease_token: NOT NULL" in why
        for why in found[("integrations", "0012_job_attempts_and_leases")]
    )


@pytest.mark.django_db
def test_every_column_the_release_does_not_know_is_nullable_or_has_a_database_default():
    """On the migrated database itself (SQLite or PostgreSQL): the release's INSERTs, which name
    only its own columns, still succeed, and every column it names is still there."""
    db = sqlite3.connect(FIXTURE)
    try:
        tables = {
            name: {row[1] for row in db.execute(f'PRAGMA table_info("{name}")')}
            for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type='table'")
            if name.split("_", 1)[0] in APPS
        }
    finally:
        db.close()
    present = set(connection.introspection.table_names())
    problems = []
    with connection.cursor() as cursor:
        for table, release_columns in sorted(tables.items()):
            if table not in present:
                problems.append(f"{table}: dropped")
                continue
            columns = connection.introspection.get_table_description(cursor, table)
            names = {c.name for c in columns}
            problems += [f"{table}.{c}: dropped" for c in sorted(release_columns - names)]
            problems += [
                f"{table}.{c.name}: NOT NULL without a default"
                for c in columns
                if c.name not in release_columns and not c.null_ok and c.default is None
            ]
    assert not problems, problems
