"""`portal sync …`: login, pull, queue-action, push, status."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import click
import httpx

from portal.statuses import Visibility
from portal.sync import config
from portal.sync.client import ApiError, SyncClient
from portal.sync.mirror import Mirror
from portal.sync.pull import DEFAULT_BATCH, PullResult, pull
from portal.sync.push import ACTIONS, VISIBILITIES, QueueError, push, queue_action

ROLE_ZH = {"enterprise": "企业", "reviewer": "审核人员", "admin": "管理员"}


def _transport(ctx: click.Context) -> httpx.BaseTransport | None:
    """Tests hand an in-process transport in through the context object; real runs use the network."""
    found = ctx.find_object(dict)
    return found.get("transport") if found else None


def _client(ctx: click.Context) -> SyncClient:
    server = config.load_config().get("server")
    if not server:
        raise click.ClickException("尚未登录：请先运行 portal sync login URL")
    token = config.load_token(server)
    if not token:
        raise click.ClickException(f"找不到 {server} 的令牌：请重新运行 portal sync login {server}")
    return SyncClient(server, token, transport=_transport(ctx))


def _mirror(path: str | None) -> Mirror:
    return Mirror(Path(path) if path else config.default_mirror())


def _who(me: dict[str, Any]) -> str:
    where = f"企业 #{me['enterprise_id']}" if me.get("enterprise_id") else (me.get("unit_id") or "")
    return (f"{me.get('name')} <{me.get('email')}>，{ROLE_ZH.get(me.get('role', ''), me.get('role'))}"
            f"{'，' + where if where else ''}，令牌权限 {me.get('scope')}")


def _fail_api(exc: ApiError) -> click.ClickException:
    if exc.status == 401:
        return click.ClickException("令牌无效、已撤销或已过期（401）：请在网站账户页创建新令牌后 portal sync login")
    return click.ClickException(str(exc))


mirror_option = click.option("--mirror", "mirror_path", type=click.Path(dir_okay=False), default=None,
                             help="Local SQLite mirror (default ~/.local/share/jilin-portal/mirror.db or "
                                  "$PORTAL_SYNC_HOME/mirror.db).")


@click.group("sync")
def sync_group() -> None:
    """Desktop client: mirror what your account sees into SQLite, push reviewer decisions made offline."""
    # The app's logging setup shows httpx's per-request INFO lines; they would bury the progress count.
    logging.getLogger("httpx").setLevel(logging.WARNING)


@sync_group.command("login")
@click.argument("url")
@click.option("--token", default=None, help="Personal API token (asked for, hidden, when omitted).")
@click.pass_context
def login_command(ctx: click.Context, url: str, token: str | None) -> None:
    """Store the server URL and a personal API token, after checking them with GET /api/v1/me."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise click.ClickException("URL 应形如 https://portal.example.cn")
    if parts.scheme == "http" and parts.hostname not in ("localhost", "127.0.0.1", "::1"):
        click.echo("警告：使用 http 明文连接，令牌可能被截获；正式环境请使用 https。", err=True)
    server = url.rstrip("/")
    token = (token or click.prompt("API 令牌", hide_input=True)).strip()
    try:
        with SyncClient(server, token, transport=_transport(ctx)) as client:
            me = client.me()
    except ApiError as exc:
        raise _fail_api(exc) from exc
    except httpx.TransportError as exc:
        raise click.ClickException(f"无法连接 {server}：{exc}") from exc
    # Checked first, stored after: a mistyped token never replaces a working one.
    where = config.store_token(server, token)
    settings = config.load_config()
    settings.update(server=server, user={k: me.get(k) for k in ("id", "email", "name", "role")})
    config.save_config(settings)
    click.echo(where)
    click.echo(f"已登录 {server}：{_who(me)}")


def _progress(result: PullResult) -> None:
    line = f"已拉取 {result.changes} 条变更（{result.batches} 批，游标 {result.cursor}）"
    if sys.stderr.isatty():
        click.echo("\r" + line, nl=False, err=True)
    elif result.batches % 10 == 1:
        click.echo(line, err=True)


@sync_group.command("pull")
@mirror_option
@click.option("--xlsx", "xlsx_path", type=click.Path(dir_okay=False), default=None,
              help="Also write the mirror to this spreadsheet (one sheet per table).")
@click.option("--limit", default=DEFAULT_BATCH, show_default=True, type=click.IntRange(1, 1000),
              help="Changes per request.")
@click.option("--no-files", is_flag=True, help="Skip downloading application PDFs and attachments.")
@click.pass_context
def pull_command(ctx: click.Context, mirror_path: str | None, xlsx_path: str | None, limit: int,
                 no_files: bool) -> None:
    """Bring the mirror up to date (incremental; safe to interrupt and rerun)."""
    mirror = _mirror(mirror_path)
    try:
        with _client(ctx) as client:
            result = pull(client, mirror, limit=limit, files=not no_files, progress=_progress,
                          notify=lambda m: click.echo(m, err=True))
    except ApiError as exc:
        raise _fail_api(exc) from exc
    except httpx.TransportError as exc:
        raise click.ClickException(f"网络错误（{type(exc).__name__}）：已拉取的批次已保存，重新运行即可继续") from exc
    if sys.stderr.isatty() and result.batches:
        click.echo("", err=True)
    click.echo(f"{mirror.path}：{result.changes} 条变更（更新 {result.upserts}，删除 {result.deletes}），"
               f"游标 {result.cursor}{'，已全量重新同步' if result.resynced else ''}，用时 {result.elapsed:.1f} 秒")
    click.echo(f"文件：下载 {result.files_downloaded}，本地已有 {result.files_present}，"
               f"校验失败 {len(result.files_rejected)}，下载失败 {len(result.file_errors)}")
    for message in result.files_rejected + result.file_errors:
        click.echo(f"  {message}", err=True)
    if result.results is not None:
        click.echo(f"匹配结果：{result.results} 条政策")
    elif result.results_problem:
        click.echo(result.results_problem, err=True)
    if xlsx_path:
        from portal.sync.xlsx import write_xlsx

        counts = write_xlsx(mirror, xlsx_path)
        click.echo(f"{xlsx_path}：" + "，".join(f"{k} {v}" for k, v in counts.items()))
    mirror.close()
    if result.files_rejected:
        sys.exit(1)


@sync_group.command("queue-action")
@click.argument("submission_id", type=int)
@click.argument("action", type=click.Choice(ACTIONS))
@click.option("--comment", default="", help="Comment; required for return, reject and comment.")
@click.option("--visibility", type=click.Choice(VISIBILITIES), default=Visibility.ENTERPRISE.value, show_default=True)
@click.option("--to-unit", default=None, help="Target unit id for forward.")
@mirror_option
def queue_command(submission_id: int, action: str, comment: str, visibility: str, to_unit: str | None,
                  mirror_path: str | None) -> None:
    """Queue a reviewer decision offline; `portal sync push` sends it."""
    mirror = _mirror(mirror_path)
    try:
        row = queue_action(mirror, submission_id, action, comment, visibility, to_unit)
    except QueueError as exc:
        raise click.ClickException(str(exc)) from exc
    note = f"，排在 #{row['after_id']} 之后" if row["after_id"] else ""
    click.echo(f"已加入待发队列 #{row['id']}：申请 {submission_id} {action}（基于版本 {row['base_version']}{note}）")


@sync_group.command("push")
@mirror_option
@click.pass_context
def push_command(ctx: click.Context, mirror_path: str | None) -> None:
    """Send queued decisions; conflicts are reported and never applied."""
    mirror = _mirror(mirror_path)
    with _client(ctx) as client:
        result = push(client, mirror)
    for row in result.sent:
        click.echo(f"#{row['id']} 申请 {row['submission_id']} {row['action']}：已执行，"
                   f"现状态 {row['server_status']}（版本 {row['server_version']}）")
    for row in result.conflicts:
        click.echo(f"#{row['id']} 申请 {row['submission_id']} {row['action']}：冲突，未执行。"
                   f"服务器当前状态 {row['server_status'] or '未知'}（版本 {row['server_version'] or '?'}）。"
                   f"{row['message'] or ''}", err=True)
    for row in result.failed:
        click.echo(f"#{row['id']} 申请 {row['submission_id']} {row['action']}：被拒绝"
                   f"（HTTP {row['http_status']}）：{row['message']}", err=True)
    if result.stopped:
        click.echo(f"已暂停：{result.stopped}", err=True)
    click.echo(f"已发送 {len(result.sent)}，冲突 {len(result.conflicts)}，被拒绝 {len(result.failed)}，"
               f"待发 {len(result.kept)}")
    mirror.close()
    if result.conflicts or result.failed:
        sys.exit(1)


@sync_group.command("status")
@mirror_option
def status_command(mirror_path: str | None) -> None:
    """Server, account, cursor, rows per table and the outbox (no network)."""
    settings = config.load_config()
    path = Path(mirror_path) if mirror_path else config.default_mirror()
    if not path.exists():
        click.echo(f"服务器：{settings.get('server') or '（未登录）'}")
        click.echo(f"镜像：{path}（尚未创建；运行 portal sync pull）")
        return
    mirror = Mirror(path)
    user = mirror.state("user") or settings.get("user") or {}
    click.echo(f"服务器：{mirror.state('server') or settings.get('server') or '（未登录）'}")
    click.echo(f"账号：{user.get('email', '（未知）')}（{ROLE_ZH.get(user.get('role', ''), user.get('role', ''))}）")
    click.echo(f"镜像：{mirror.path}")
    click.echo(f"游标：{mirror.cursor}；上次拉取：{mirror.state('last_pull_at') or '从未'}")
    for table, count in mirror.counts().items():
        click.echo(f"  {table}: {count}")
    states = dict(mirror.db.execute("SELECT state, count(*) FROM outbox GROUP BY state").fetchall())
    click.echo(f"待发队列：待发 {states.get('pending', 0)}，冲突 {states.get('conflict', 0)}，"
               f"被拒绝 {states.get('failed', 0)}，已发送 {states.get('sent', 0)}")
    for row in mirror.db["outbox"].rows_where("state = 'conflict'", order_by="id"):
        click.echo(f"  冲突 #{row['id']} 申请 {row['submission_id']} {row['action']}：服务器状态 "
                   f"{row['server_status'] or '未知'}（版本 {row['server_version'] or '?'}）")
    mirror.close()
