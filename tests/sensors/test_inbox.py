from dagster import DagsterInstance, SensorResult, SkipReason, build_sensor_context, instance_for_test
from sqlalchemy import select

from sensors.inbox import inbox_sensor
from tvdb.db.models import UploadJob


def _tick(defs, instance: DagsterInstance):
    with build_sensor_context(instance=instance, resources={"pipeline": defs.resources["pipeline"]}) as context:
        return inbox_sensor(context)


def test_inbox_files_become_one_batch_and_one_run(defs, services, tvdb_env, monkeypatch):
    inbox = tvdb_env / "inbox"
    inbox.mkdir(parents=True)
    monkeypatch.setattr("sensors.inbox.SETTLE_SECONDS", 0)
    (inbox / "a.txt").write_text("first document")
    (inbox / "b.md").write_text("# second")
    (inbox / "empty.txt").write_bytes(b"")
    with instance_for_test() as instance:
        result = _tick(defs, instance)
    assert isinstance(result, SensorResult)
    [request] = result.run_requests
    [partitions] = result.dynamic_partitions_requests
    assert partitions.partition_keys == [request.partition_key]
    with services.sessions() as session:
        jobs = session.scalars(select(UploadJob).where(UploadJob.batch_id == request.partition_key)).all()
    assert sorted((j.original_filename, j.status) for j in jobs) == [
        ("a.txt", "stored"), ("b.md", "stored"), ("empty.txt", "failed")]
    assert sorted(p.name for p in inbox.iterdir()) == [".failed"]
    assert (inbox / ".failed" / "empty.txt").exists()


def test_an_empty_or_missing_inbox_skips(defs, tvdb_env):
    with instance_for_test() as instance:
        assert isinstance(_tick(defs, instance), SkipReason)
        (tvdb_env / "inbox").mkdir(parents=True)
        assert isinstance(_tick(defs, instance), SkipReason)
