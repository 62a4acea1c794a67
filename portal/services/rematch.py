"""Re-matching every stored profile when the knowledge base changes.

`portal rematch` first records a MeasureVersion for each measure that is new, edited or gone, then
streams the enterprises in batches, matches each stored profile and compares the measures it is
eligible for with the baseline in MatchState. A measure entering or leaving that set is a MatchChange,
and the enterprise's staff get one notice listing them. The first run only records the baselines.

Only the eligible set is stored per enterprise (one row each, not one per measure), so a change
records its new status and, for a measure that was eligible, `from_status` "eligible"; the earlier
status of a measure that became eligible was not stored and is left empty.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import json
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import case, func, insert, select, text
from sqlmodel import Session, col

from portal.db import dialect_insert
from portal.models import (
    Enterprise,
    MatchChange,
    MatchState,
    MeasureVersion,
    RematchRun,
    Submission,
    utcnow,
)
from portal.policy.catalog import catalog
from portal.policy.matching import ELIGIBLE, EXPIRED, NOT_ELIGIBLE, match_profile
from portal.policy.records import Catalog
from portal.services import notifications
from portal.services.review_actions import notify_each
from portal.services.snapshots import canonical_json, measure_fingerprint, measure_snapshot
from portal.statuses import MatchStatus, SubmissionStatus

RESULTS_LINK = "/results"  # kept in step with portal/views/enterprise.py
DEFAULT_BATCH = 2000
REMOVED = "removed"  # to_status of a measure that left the knowledge base
FIRST_SUMMARY = "首次记录"
REMOVED_SUMMARY = "已移出知识库"
RESTORED_SUMMARY = "重新列入知识库"
# Snapshot keys (services.snapshots.measure_snapshot) in the words of the library page, in display order.
PART_LABELS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("标题", ("title",)),
    ("条款原文", ("text",)),
    ("条款编号", ("clause", "part", "citation")),
    ("条件", ("conditions",)),
    ("适用对象", ("eligibility", "audience", "sectors")),
    ("支持方式", ("benefit_kinds",)),
    ("金额", ("amounts", "city_share")),
    ("受理单位", ("lead_units", "service_points")),
    ("责任单位", ("responsibility_as_printed", "cooperating_units")),
    ("申报材料", ("materials",)),
    ("办理时限", ("time_limit_days", "time_limit_months", "time_limit_note")),
    ("有效期", ("valid_until",)),
    ("所属文件", ("document",)),
)
# The stored summaries (MeasureVersion.summary) stay Chinese, the record; these read them in the current language.
_SUMMARY_TEXT = {
    FIRST_SUMMARY: _l("首次记录"), REMOVED_SUMMARY: _l("已移出知识库"), RESTORED_SUMMARY: _l("重新列入知识库"),
    "标题": _l("标题"), "条款原文": _l("条款原文"), "条款编号": _l("条款编号"), "条件": _l("条件"),
    "适用对象": _l("适用对象"), "支持方式": _l("支持方式"), "金额": _l("金额"), "受理单位": _l("受理单位"),
    "责任单位": _l("责任单位"), "申报材料": _l("申报材料"), "办理时限": _l("办理时限"), "有效期": _l("有效期"),
    "所属文件": _l("所属文件"),
}


def summary_text(summary: str) -> str:
    """A stored version summary ("条件、金额", "重新列入知识库：金额") in the current language, for pages.

    Parts it does not know (a snapshot field added later shows by its key) are left as they are.
    """
    def part(text: str) -> str:
        return str(_SUMMARY_TEXT.get(text, text))

    head, sep, rest = summary.partition("：")
    if sep and head == RESTORED_SUMMARY:
        return _("%(restored)s：%(parts)s", restored=part(head), parts=summary_text(rest))
    return _("、").join(part(p) for p in summary.split("、")) if summary else ""


MAX_TITLES = 8  # per list in a notice; more are counted, so the message stays within its 500 characters


# -- measure versions ------------------------------------------------------------------------
def latest_versions(session: Session) -> dict[str, MeasureVersion]:
    """The newest recorded version of every measure ever recorded (a few hundred rows at most)."""
    latest: dict[str, MeasureVersion] = {}
    query = select(MeasureVersion).order_by(col(MeasureVersion.measure_id), col(MeasureVersion.version))
    for v in session.execute(query).scalars():
        latest[v.measure_id] = v
    return latest


def describe_changes(old: dict[str, Any], new: dict[str, Any]) -> str:
    """What differs between two snapshots, as the library names it: e.g. "条件、金额"."""
    changed = {k for k in old.keys() | new.keys() if old.get(k) != new.get(k)}
    if "document" in changed:
        # The document's end date already shows as 有效期; only its other fields make it 所属文件.
        rest = [{k: v for k, v in (d.get("document") or {}).items() if k != "valid_until"} for d in (old, new)]
        if rest[0] == rest[1]:
            changed.discard("document")
    labels = [label for label, keys in PART_LABELS if changed & set(keys)]
    known = {k for _, keys in PART_LABELS for k in keys} | {"id"}
    labels += sorted(changed - known)  # a field added to the snapshot later still shows, by its name
    return "、".join(labels)[:300]


def version_changes(session: Session, cat: Catalog, now: dt.datetime,
                    latest: dict[str, MeasureVersion] | None = None) -> list[MeasureVersion]:
    """The versions to record now (not added to the session): new, edited, removed or restored measures."""
    latest = latest_versions(session) if latest is None else latest
    out = []
    for m in sorted(cat.measures.values(), key=lambda m: m.id):
        snapshot = measure_snapshot(m)
        fingerprint = measure_fingerprint(m)
        last = latest.get(m.id)
        if last is not None and last.fingerprint == fingerprint and not last.removed:
            continue
        if last is None:
            summary = FIRST_SUMMARY
        else:
            parts = describe_changes(json.loads(last.snapshot_json), json.loads(canonical_json(snapshot)))
            summary = parts
            if last.removed:
                summary = f"{RESTORED_SUMMARY}：{parts}" if parts else RESTORED_SUMMARY
        out.append(MeasureVersion(measure_id=m.id, version=(last.version + 1) if last else 1,
                                  fingerprint=fingerprint, snapshot_json=canonical_json(snapshot),
                                  summary=summary[:300], recorded_at=now))
    for measure_id, last in sorted(latest.items()):
        if measure_id not in cat.measures and not last.removed:
            out.append(MeasureVersion(measure_id=measure_id, version=last.version + 1, fingerprint=last.fingerprint,
                                      snapshot_json=last.snapshot_json, summary=REMOVED_SUMMARY, removed=True,
                                      recorded_at=now))
    return out


def record_versions(session: Session, cat: Catalog, now: dt.datetime,
                    latest: dict[str, MeasureVersion] | None = None) -> list[MeasureVersion]:
    """Add a version for each new, edited or removed measure; returns them (the caller commits)."""
    versions = version_changes(session, cat, now, latest)
    session.add_all(versions)
    session.flush()
    return versions


def catalog_fingerprint(cat: Catalog) -> str:
    """One hash of every measure's fingerprint: equal while no measure changed."""
    joined = "\n".join(f"{mid}:{measure_fingerprint(m)}" for mid, m in sorted(cat.measures.items()))
    return hashlib.sha256(joined.encode("utf-8")).hexdigest()


# -- re-matching ------------------------------------------------------------------------------
@dataclass
class RematchReport:
    """A run and what the command line prints about it."""

    run: RematchRun
    versions: list[MeasureVersion] = field(default_factory=list)
    baselines: int = 0  # enterprises matched for the first time (recorded silently)
    enterprises_changed: int = 0  # enterprises with at least one MatchChange
    notified_users: int = 0
    seconds: float = 0.0
    dry_run: bool = False

    @property
    def per_second(self) -> float:
        """Profiles re-matched per second of the whole run (versions and writes included)."""
        return self.run.profiles / self.seconds if self.seconds else 0.0


@dataclass
class _Batch:
    """What one batch writes: baselines, changes and the notices to send."""

    states: list[dict[str, Any]] = field(default_factory=list)
    changes: list[dict[str, Any]] = field(default_factory=list)
    #: enterprise id -> its notice, written in a recipient's language: message(lang) under force_locale(lang)
    notices: dict[int, Callable[[str], str]] = field(default_factory=dict)


def _read_batch(session: Session, after: int, size: int) -> list[Any]:
    """The next `size` enterprises after id `after` with their baselines: plain rows, no ORM objects."""
    query = (select(Enterprise.id, Enterprise.profile_json, Enterprise.answers_revision, MatchState.eligible_json,
                    MatchState.answers_revision, MatchState.catalog_fingerprint)
             .outerjoin(MatchState, col(MatchState.enterprise_id) == col(Enterprise.id))
             .where(col(Enterprise.id) > after).order_by(col(Enterprise.id)).limit(size))
    return list(session.execute(query).all())


def _titles(ids: Iterable[str], statuses: dict[str, str] | None, titles: Callable[[str], str]) -> str:
    """Quoted titles (with the new status where given), the first MAX_TITLES of them."""
    ids = list(ids)
    shown = []
    for mid in ids[:MAX_TITLES]:
        status = statuses.get(mid, REMOVED) if statuses is not None else ""
        why = _("已移出政策库") if status == REMOVED else (MatchStatus.label(status) if status else "")
        shown.append(_("“%(title)s”（%(why)s）", title=titles(mid), why=why) if why
                     else _("“%(title)s”", title=titles(mid)))
    listed = _("、").join(shown)
    return _("%(titles)s等 %(count)s 项", titles=listed, count=len(ids)) if len(ids) > MAX_TITLES else listed


def notice_text(entered: list[str], left: list[str], statuses: dict[str, str], titles: Callable[[str], str]) -> str:
    """The one notice an enterprise gets when a knowledge-base change moved its results, in the current
    language (run it under flask_babel.force_locale(the recipient's language))."""
    parts = [_("政策库已更新，您的匹配结果有变化。")]
    if entered:
        parts.append(_("新符合条件：%(titles)s。", titles=_titles(entered, None, titles)))
    if left:
        parts.append(_("不再符合条件：%(titles)s。", titles=_titles(left, statuses, titles)))
    parts.append(_("请查看最新匹配结果。"))
    return ("" if _current_lang() == "zh" else " ").join(parts)


def _current_lang() -> str:
    return str(get_locale() or "zh")


def _compare(batch: _Batch, row: Any, cat: Catalog, today: dt.date, cat_fp: str, run_id: int | None,
             now: dt.datetime, titles: Callable[[str], str]) -> None:
    """Match one stored profile and note what changed against its baseline."""
    eid, raw, revision, old_json, old_revision, old_fp = row
    results = match_profile(json.loads(raw or "{}"), today, cat)
    eligible = sorted(r.measure.id for r in results if r.status == ELIGIBLE)
    new_json = json.dumps(eligible, separators=(",", ":"))
    state = {"enterprise_id": eid, "eligible_json": new_json, "answers_revision": revision,
             "catalog_fingerprint": cat_fp, "updated_at": now}
    if old_json is None:
        batch.states.append(state)  # the first run is a baseline: nobody is told anything
        return
    if old_json == new_json and old_revision == revision and old_fp == cat_fp:
        return
    batch.states.append(state)
    before = set(json.loads(old_json))
    entered, left = sorted(set(eligible) - before), sorted(before - set(eligible))
    if not (entered or left) or (old_revision != revision and old_fp == cat_fp):
        # Same catalog, new answers: the firm saw its own results move while answering.
        return
    statuses = {r.measure.id: r.status for r in results}
    for mid in left:  # no longer matched at all: gone from the catalog, or no longer for enterprises
        statuses.setdefault(mid, NOT_ELIGIBLE if mid in cat.measures else REMOVED)
    for mid in entered:
        batch.changes.append({"run_id": run_id, "enterprise_id": eid, "measure_id": mid, "from_status": "",
                              "to_status": ELIGIBLE, "at": now})
    for mid in left:
        batch.changes.append({"run_id": run_id, "enterprise_id": eid, "measure_id": mid, "from_status": ELIGIBLE,
                              "to_status": statuses[mid], "at": now})
    # A measure that simply reached its end date is recorded but not announced again: the 30- and
    # 7-day validity reminders (services/calendar.py) already told the firms eligible for it.
    told = [mid for mid in left if statuses[mid] != EXPIRED]
    if entered or told:
        batch.notices[eid] = partial(notice_text, entered, told, statuses, titles)


def _write(session: Session, batch: _Batch, send: bool) -> int:
    """Store one batch's baselines and changes, and notify; returns the users notified."""
    if batch.states:
        stmt = dialect_insert(session)(MatchState.__table__)
        session.execute(stmt.on_conflict_do_update(
            index_elements=["enterprise_id"],
            set_={c: stmt.excluded[c] for c in ("eligible_json", "answers_revision", "catalog_fingerprint",
                                                 "updated_at")}), batch.states)
    if batch.changes:
        session.execute(insert(MatchChange.__table__), batch.changes)
    if not (send and batch.notices):
        return 0
    staff = notifications.staff_by_enterprise(session, batch.notices)
    return sum(notify_each(session, staff.get(eid, []), lambda _lang, m=message: m(), RESULTS_LINK)
               for eid, message in batch.notices.items())


def run_rematch(session: Session, today: dt.date, *, notify: bool = True, batch: int = DEFAULT_BATCH,
                cat: Catalog | None = None, dry_run: bool = False) -> RematchReport:
    """Record measure versions, re-match every stored profile and notify those whose results moved.

    Commits per batch. A dry run writes nothing and notifies nobody; give it a session that does not
    take the write lock (SQLite), since it only reads.
    """
    cat = cat or catalog()
    started = time.perf_counter()
    now = utcnow()
    run = RematchRun(started_at=now)
    prior = latest_versions(session)
    if dry_run:
        versions = version_changes(session, cat, now, prior)
    else:
        session.add(run)
        session.flush()
        versions = record_versions(session, cat, now, prior)
    # The very first run records every measure as version 1: that is the baseline, not a change.
    run.measures_changed = ",".join(v.measure_id for v in versions) if prior else ""
    latest = prior | {v.measure_id: v for v in versions}

    def title(mid: str) -> str:
        """A measure's title (in the current language where the catalog has the unofficial wording), from its
        last recorded version once it has left the catalog."""
        if mid in cat.measures:
            return cat.measures[mid].local("title", _current_lang())
        return str(json.loads(latest[mid].snapshot_json).get("title", mid)) if mid in latest else mid

    report = RematchReport(run=run, versions=versions, dry_run=dry_run)
    cat_fp = catalog_fingerprint(cat)
    session.commit()
    after = 0
    while True:
        rows = _read_batch(session, after, batch)
        # Matching happens outside any transaction, so SQLite's write lock is held only while writing.
        if dry_run:
            session.rollback()
        else:
            session.commit()
        if not rows:
            break
        after = rows[-1][0]
        work = _Batch()
        for row in rows:
            _compare(work, row, cat, today, cat_fp, run.id, now, title)
        run.profiles += len(rows)
        run.changes += len(work.changes)
        report.baselines += sum(1 for row in rows if row[3] is None)
        report.enterprises_changed += len(work.notices)
        if dry_run:
            continue
        report.notified_users += _write(session, work, notify)
        session.commit()
    run.finished_at = utcnow()
    if not dry_run:
        session.add(run)
        session.commit()
    report.seconds = time.perf_counter() - started
    return report


class AlreadyRunning(RuntimeError):
    """Another `portal rematch` holds the lock: two runs would notify the same firms twice."""


@contextmanager
def single_run(session: Session, lock_dir: Path) -> Iterator[None]:
    """Hold the re-match lock for a whole run: a PostgreSQL advisory lock, or a file lock beside SQLite."""
    engine = session.get_bind()
    if engine.dialect.name == "postgresql":
        # Its own connection, held for the whole run: the session's connection goes back to the pool
        # at every commit, and an advisory lock belongs to the connection that took it.
        with engine.connect() as conn:
            if not conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": _LOCK_KEY}).scalar_one():
                raise AlreadyRunning("另一个 portal rematch 正在运行。")
            conn.commit()
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _LOCK_KEY})
                conn.commit()
        return
    lock_dir.mkdir(parents=True, exist_ok=True)
    with open(lock_dir / "rematch.lock", "w") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise AlreadyRunning("另一个 portal rematch 正在运行。") from exc
        yield


_LOCK_KEY = 0x706F7274616C01  # "portal" + 1: the re-match run


# -- administrators: which measures drive applications, which are never matched -----------------
@dataclass(frozen=True)
class MeasureUsage:
    measure_id: str
    title: str
    submissions: int
    approved: int
    eligible: int  # enterprises whose last re-match found them eligible
    in_catalog: bool = True


@dataclass
class UsageReport:
    rows: list[MeasureUsage]  # most applications first
    never_matched: list[MeasureUsage]  # enterprise-facing measures no stored profile is eligible for
    last_run: RematchRun | None
    baselines: int  # enterprises with a stored match state


def measure_usage(session: Session, cat: Catalog | None = None) -> UsageReport:
    """Applications and eligible enterprises per enterprise-facing measure, from Submission and MatchState."""
    cat = cat or catalog()
    eligible: Counter[str] = Counter()
    baselines = 0
    # One short JSON list per enterprise, streamed: 100,000 enterprises are read in well under a second.
    query = select(MatchState.eligible_json).execution_options(yield_per=5000)
    for (raw,) in session.execute(query):
        eligible.update(json.loads(raw))
        baselines += 1
    approved = func.sum(case((col(Submission.status) == SubmissionStatus.APPROVED, 1), else_=0))
    submitted = {mid: (int(n), int(ok or 0)) for mid, n, ok in session.execute(
        select(Submission.measure_id, func.count(), approved).group_by(col(Submission.measure_id)))}
    rows = [MeasureUsage(m.id, m.title, *submitted.get(m.id, (0, 0)), eligible[m.id])
            for m in cat.enterprise_measures()]
    rows += [MeasureUsage(mid, mid, n, ok, eligible[mid], in_catalog=False)
             for mid, (n, ok) in sorted(submitted.items()) if mid not in cat.measures]
    rows.sort(key=lambda r: (-r.submissions, -r.eligible, r.measure_id))
    last_run = session.execute(select(RematchRun).where(col(RematchRun.finished_at).is_not(None))
                               .order_by(col(RematchRun.id).desc()).limit(1)).scalars().first()
    never = [r for r in rows if r.in_catalog and r.eligible == 0] if last_run is not None else []
    return UsageReport(rows=rows, never_matched=sorted(never, key=lambda r: r.measure_id), last_run=last_run,
                       baselines=baselines)
