"""Error pages in the site layout (HTML) or JSON for the API."""

from __future__ import annotations

import logging

from flask import Flask, flash, jsonify, make_response, redirect, render_template, request, url_for
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

log = logging.getLogger(__name__)

MESSAGES = {
    400: ("请求有误", "提交的内容无法处理，请返回检查后重试。"),
    403: ("无权访问", "您的账号没有访问此页面的权限。"),
    404: ("页面不存在", "您访问的页面不存在或已被移除。"),
    405: ("请求方式不正确", "此页面不支持该操作。"),
    413: ("文件过大", "上传的内容超过了大小限制，请压缩后重试。"),
    422: ("内容无法处理", "提交的内容未通过校验。"),
    429: ("操作过于频繁", "请稍候片刻再试。"),
    # The handler cannot know what was stored before the error: it must not claim the input was saved.
    500: ("系统出错", "服务器处理请求时出错，我们已记录此问题。本次提交的内容可能未保存，请稍后核对后重试。"),
}


def _respond(code: int, detail: str | None = None):  # type: ignore[no-untyped-def]
    title, message = MESSAGES.get(code, ("出错了", "请求未能完成。"))
    if request.path.startswith("/api/"):
        return jsonify({"error": title, "detail": detail or message, "status": code}), code
    return render_template("errors/error.html", code=code, title=title, message=detail or message), code


def unauthorized():  # type: ignore[no-untyped-def]
    """Not signed in: pages go to the login page; API, htmx and script requests get 401.

    A script replaying saved answers must be able to tell "sign in again" from success: the login
    page itself answers 200, which once made an offline queue drop answers it had not delivered.
    """
    login = url_for("auth.login", next=request.full_path.rstrip("?") if request.method == "GET" else None)
    if (request.path.startswith("/api/") or request.headers.get("HX-Request")
            or request.accept_mimetypes.best == "application/json"
            or request.headers.get("X-Requested-With") == "fetch"):
        body = {"error": "未登录或登录已过期", "detail": "请重新登录；未送达的回答仍保存在本机。", "login": login,
                "status": 401}
        response = jsonify(body) if request.path.startswith("/api/") or not request.headers.get("HX-Request") \
            else make_response(render_template("errors/error.html", code=401, title="需要重新登录",
                                               message="登录已过期，请重新登录。未送达的回答仍保存在本机。"))
        response.status_code = 401
        response.headers["X-Login-URL"] = login
        if request.path.startswith("/api/"):
            response.headers["WWW-Authenticate"] = 'Bearer realm="api"'
        return response
    flash("请先登录。")
    return redirect(login)


def register(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def _csrf(err: CSRFError):  # type: ignore[no-untyped-def]
        return _respond(400, "页面已过期或请求来源无法验证（CSRF），请刷新页面后重试。")

    @app.errorhandler(HTTPException)
    def _http(err: HTTPException):  # type: ignore[no-untyped-def]
        code = err.code or 500
        return _respond(code, None if code in MESSAGES else err.description)

    @app.errorhandler(Exception)
    def _unexpected(err: Exception):  # type: ignore[no-untyped-def]
        log.exception("unhandled error on %s %s", request.method, request.path)
        return _respond(InternalServerError.code)
