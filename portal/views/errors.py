"""Error pages in the site layout (HTML) or JSON for the API, in the language of the request."""

from __future__ import annotations

import logging

from flask import Flask, flash, jsonify, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

log = logging.getLogger(__name__)

# These codes always show these words (a view's description for them is for logs, not users).
MESSAGES = {
    400: (_l("请求有误"), _l("提交的内容无法处理，请返回检查后重试。")),
    403: (_l("无权访问"), _l("您的账号没有访问此页面的权限。")),
    404: (_l("页面不存在"), _l("您访问的页面不存在或已被移除。")),
    405: (_l("请求方式不正确"), _l("此页面不支持该操作。")),
    413: (_l("文件过大"), _l("上传的内容超过了大小限制，请压缩后重试。")),
    422: (_l("内容无法处理"), _l("提交的内容未通过校验。")),
    429: (_l("操作过于频繁"), _l("请稍候片刻再试。")),
    # The handler cannot know what was stored before the error: it must not claim the input was saved.
    500: (_l("系统出错"), _l("服务器处理请求时出错，我们已记录此问题。本次提交的内容可能未保存，请稍后核对后重试。")),
}
# These codes show a view's own description when it gave one (abort(409, description=...)), else these words
# rather than werkzeug's English default.
DEFAULTS = {
    401: (_l("需要登录"), _l("请先登录。")),
    409: (_l("操作冲突"), _l("该内容已被修改或处于不允许此操作的状态，请刷新页面后重试。")),
    410: (_l("已失效"), _l("该链接或内容已过期或已被删除。")),
    412: (_l("内容已更新"), _l("该内容已在其他地方修改，请刷新页面后重试。")),
    415: (_l("格式不受支持"), _l("提交的内容格式不受支持。")),
    428: (_l("缺少版本信息"), _l("请求缺少必需的版本条件，请刷新页面后重试。")),
    502: (_l("服务暂不可用"), _l("服务暂时无法访问，请稍后再试。")),
    503: (_l("服务暂不可用"), _l("服务暂时繁忙或正在维护，请稍后再试。")),
    504: (_l("服务暂不可用"), _l("服务器响应超时，请稍后再试。")),
}
OTHER = (_l("出错了"), _l("请求未能完成。"))


def _respond(code: int, detail: str | None = None):  # type: ignore[no-untyped-def]
    title, message = (str(text) for text in MESSAGES.get(code) or DEFAULTS.get(code) or OTHER)
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
        body = {"error": _("未登录或登录已过期"), "detail": _("请重新登录；未送达的回答仍保存在本机。"), "login": login,
                "status": 401}
        response = jsonify(body) if request.path.startswith("/api/") or not request.headers.get("HX-Request") \
            else make_response(render_template("errors/error.html", code=401, title=_("需要重新登录"),
                                               message=_("登录已过期，请重新登录。未送达的回答仍保存在本机。")))
        response.status_code = 401
        response.headers["X-Login-URL"] = login
        if request.path.startswith("/api/"):
            response.headers["WWW-Authenticate"] = 'Bearer realm="api"'
        return response
    flash(_("请先登录。"))
    return redirect(login)


def register(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def _csrf(err: CSRFError):  # type: ignore[no-untyped-def]
        return _respond(400, _("页面已过期或请求来源无法验证（CSRF），请刷新页面后重试。"))

    @app.errorhandler(HTTPException)
    def _http(err: HTTPException):  # type: ignore[no-untyped-def]
        code = err.code or 500
        # werkzeug's own description is English boilerplate: only a view's own words replace ours.
        own = err.description if err.description != type(err).description else None
        return _respond(code, None if code in MESSAGES else own)

    @app.errorhandler(Exception)
    def _unexpected(err: Exception):  # type: ignore[no-untyped-def]
        log.exception("unhandled error on %s %s", request.method, request.path)
        return _respond(InternalServerError.code)
