"""A small pool of long-lived PDF worker processes with a wall-clock and memory limit per render.

WeasyPrint runs in separate processes so that a slow or hostile document can be stopped: when a
render exceeds its time limit the worker is killed and a fresh one takes its place. Workers are
reused across renders (starting one costs far more than a render). The pool is created lazily in
the process that uses it, so it is safe with gunicorn's pre-fork model.

Environment:
    PORTAL_PDF_WORKERS        worker processes per web process (default 2)
    PORTAL_PDF_TIMEOUT        seconds one render may take (default 20)
    PORTAL_PDF_MEMORY_MB      address-space limit of a worker (default 1024; 0 = none)
    PORTAL_PDF_MAX_RENDERS    renders before a worker is recycled (default 500)
    PORTAL_PDF_START_METHOD   forkserver (default where available) or spawn
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import multiprocessing
import os
import sys
import threading
import time
import types
from collections.abc import Iterator
from typing import Any

from flask_babel import gettext as _

from portal.pdf.errors import PdfError

log = logging.getLogger(__name__)

START_TIMEOUT = 60.0  # seconds for a new worker to import WeasyPrint and warm up
_ENGINE = "portal.pdf.engine"


def _env_number(name: str, default: float) -> float:
    try:
        return float(os.environ.get(name, "") or default)
    except ValueError:
        return default


def run_worker(conn: Any, memory_mb: int) -> None:
    """Process target of a PDF worker; imports WeasyPrint in the worker only, never in the web process."""
    from portal.pdf.engine import worker_main

    worker_main(conn, memory_mb)


class _WorkerGone(Exception):
    """The worker process exited or its pipe broke."""


_main_lock = threading.Lock()


@contextlib.contextmanager
def _without_main_module() -> Iterator[None]:
    """Hide the caller's __main__ while a worker starts.

    spawn and forkserver children normally re-import the parent's main script, which runs it
    again if it lacks an `if __name__ == "__main__"` guard (a one-off script, a REPL session).
    Workers only need portal.pdf.engine, so they are given an empty __main__ instead.
    """
    with _main_lock:
        main = sys.modules.get("__main__")
        sys.modules["__main__"] = types.ModuleType("__main__")
        try:
            yield
        finally:
            if main is not None:
                sys.modules["__main__"] = main


class _Worker:
    """One worker process and the parent's end of its pipe."""

    def __init__(self, ctx: Any, memory_mb: int) -> None:
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=run_worker, args=(child, memory_mb), name="portal-pdf-worker",
                                   daemon=True)
        with _without_main_module():
            self.process.start()
        child.close()
        self.renders = 0
        try:
            if not self.conn.poll(START_TIMEOUT):
                raise _WorkerGone("start timed out")
            self.conn.recv()  # ("ready", pid)
        except (EOFError, OSError, _WorkerGone) as exc:
            self.kill()
            raise PdfError(_("PDF 生成服务启动失败，请稍后重试或联系管理员。")) from exc

    def call(self, job: Any, timeout: float) -> tuple[str, Any] | None:
        """Send one job; the answer, or None when `timeout` seconds pass without one."""
        try:
            self.conn.send(job)
            if not self.conn.poll(timeout):
                return None
            answer = self.conn.recv()
        except (EOFError, OSError) as exc:
            raise _WorkerGone(str(exc)) from exc
        self.renders += 1
        return answer

    def kill(self) -> None:
        self.process.kill()
        self.process.join(5)
        self.conn.close()

    def stop(self) -> None:
        with contextlib.suppress(OSError):
            self.conn.send(None)
        self.process.join(2)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(2)
        self.conn.close()


class PdfWorkerPool:
    """Up to `size` worker processes; `render` borrows one, enforcing the time limit."""

    def __init__(self, size: int | None = None, timeout: float | None = None, memory_mb: int | None = None,
                 max_renders: int | None = None, start_method: str | None = None) -> None:
        self.size = max(1, int(size or _env_number("PORTAL_PDF_WORKERS", 2)))
        self.timeout = float(timeout or _env_number("PORTAL_PDF_TIMEOUT", 20))
        self.memory_mb = int(memory_mb if memory_mb is not None else _env_number("PORTAL_PDF_MEMORY_MB", 1024))
        self.max_renders = int(max_renders or _env_number("PORTAL_PDF_MAX_RENDERS", 500))
        method = start_method or os.environ.get("PORTAL_PDF_START_METHOD") or "forkserver"
        if method not in multiprocessing.get_all_start_methods():
            method = "spawn"
        self._ctx = multiprocessing.get_context(method)
        if method == "forkserver":
            # Workers fork from a server that has WeasyPrint imported already: replacing one is cheap.
            self._ctx.set_forkserver_preload([_ENGINE])
        self.pid = os.getpid()
        self._cond = threading.Condition()
        self._idle: list[_Worker] = []
        self._live = 0  # idle + busy + starting; never above size
        self._starting = 0  # replacements being started in the background
        self._closed = False

    # -- borrowing ------------------------------------------------------------------------
    def _checkout(self, wait: float) -> _Worker:
        deadline = time.monotonic() + wait
        with self._cond:
            while True:
                if self._closed:
                    raise PdfError(_("PDF 生成服务已关闭。"))
                if self._idle:
                    return self._idle.pop()
                # A replacement is on its way: wait for it rather than start a second one.
                if self._live < self.size and not self._starting:
                    self._live += 1
                    break
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise PdfError(_("PDF 生成繁忙，请稍后重试。"))
                self._cond.wait(remaining)
        try:
            return _Worker(self._ctx, self.memory_mb)
        except BaseException:
            self._forget()
            raise

    def _checkin(self, worker: _Worker) -> None:
        with self._cond:
            keep = not self._closed and worker.renders < self.max_renders
            if keep:
                self._idle.append(worker)
                self._cond.notify()
            else:
                self._live -= 1
                self._cond.notify()
        if not keep:
            worker.stop()

    def _forget(self) -> None:
        with self._cond:
            self._live -= 1
            self._cond.notify()

    def _replace_in_background(self) -> None:
        """Start a replacement worker now, so the render after a timeout does not wait for it."""
        with self._cond:
            if self._closed or self._live >= self.size:
                return
            self._live += 1
            self._starting += 1

        def start() -> None:
            try:
                worker = _Worker(self._ctx, self.memory_mb)
            except Exception:
                log.warning("could not start a replacement PDF worker", exc_info=True)
                with self._cond:
                    self._starting -= 1
                self._forget()
                return
            with self._cond:
                self._starting -= 1
            self._checkin(worker)

        threading.Thread(target=start, name="portal-pdf-replace", daemon=True).start()

    # -- public ---------------------------------------------------------------------------
    def render(self, job: Any, timeout: float | None = None) -> Any:
        """Run `job` in a worker; PdfError on timeout ("生成超时"), crash or rendering error."""
        limit = self.timeout if timeout is None else timeout
        worker = self._checkout(wait=max(limit, self.timeout) + START_TIMEOUT)
        try:
            answer = worker.call(job, limit)
        except _WorkerGone as exc:
            worker.kill()
            self._forget()
            self._replace_in_background()
            raise PdfError(_("生成失败：PDF 生成进程意外退出（可能超出内存限制），请稍后重试。")) from exc
        except BaseException:
            worker.kill()
            self._forget()
            raise
        if answer is None:
            # The worker may be stuck inside C code: only killing the process is certain to stop it.
            worker.kill()
            self._forget()
            self._replace_in_background()
            raise PdfError(_("生成超时：PDF 生成超过 %(n)s 秒，已中止。请精简填报内容后重试或联系管理员。",
                             n=f"{limit:g}"))
        status, payload = answer
        if status == "ok":
            self._checkin(worker)
            return payload
        if payload == "内存超出限制":
            worker.kill()
            self._forget()
            self._replace_in_background()
            raise PdfError(_("生成失败：PDF 内容过大，超出内存限制。"))
        self._checkin(worker)
        raise PdfError(_("生成失败：%(reason)s", reason=payload))

    def warm_up(self) -> None:
        """Start all workers now (e.g. at application start) instead of on first use."""
        workers = []
        try:
            for _ in range(self.size):
                workers.append(self._checkout(wait=START_TIMEOUT))
        finally:
            for worker in workers:
                self._checkin(worker)

    def shutdown(self) -> None:
        """Stop idle workers now; busy ones stop when their render returns."""
        with self._cond:
            self._closed = True
            idle, self._idle = self._idle, []
            self._live -= len(idle)
            self._cond.notify_all()
        for worker in idle:
            worker.stop()


_pool: PdfWorkerPool | None = None
_pool_lock = threading.Lock()


def get_pool() -> PdfWorkerPool:
    """The pool of this process, created on first use (and again after a fork)."""
    global _pool
    with _pool_lock:
        if _pool is None or _pool.pid != os.getpid() or _pool._closed:
            # After a fork the parent's workers belong to the parent: leave them alone.
            _pool = PdfWorkerPool()
        return _pool


def shutdown_pool() -> None:
    """Stop this process's PDF workers (registered with atexit; call it in tests or on reload)."""
    global _pool
    with _pool_lock:
        pool, _pool = _pool, None
    if pool is not None and pool.pid == os.getpid():
        pool.shutdown()


atexit.register(shutdown_pool)


