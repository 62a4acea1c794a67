"""Jilin pharma-policy self-service portal (吉林省医药产业政策自助服务平台)."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from portal.config import INSTANCE_DIR, ROOT, Config, config_from_env, production_problems, quiet_library_loggers


def _compressible_static(app: Flask) -> None:
    """Let Flask-Compress gzip static files too (send_file marks them pass-through otherwise)."""
    serve = app.view_functions["static"]

    def static(filename: str) -> Any:
        response = serve(filename=filename)
        if response.status_code == 200:
            response.direct_passthrough = False
            response.set_data(response.get_data())  # small files: buffer them so they can be gzipped
        if filename.startswith("vendor/"):
            response.cache_control.max_age = 31536000  # versioned file names never change
            response.cache_control.public = True
            response.cache_control.no_cache = None
        return response

    app.view_functions["static"] = static


def _production_checks(app: Flask) -> None:
    """Refuse to serve production with a weak SECRET_KEY or without PUBLIC_BASE_URL; warn about unshared limits."""
    if not app.config.get("PRODUCTION"):
        return
    problems = production_problems(app.config)
    if problems:
        raise RuntimeError("refusing to start in production:\n- " + "\n- ".join(problems))
    if str(app.config.get("RATELIMIT_STORAGE_URI", "memory://")).startswith("memory://"):
        logging.getLogger("portal").warning(
            "login throttling keeps its counters in each worker's memory (RATELIMIT_STORAGE_URI=memory://): "
            "with several gunicorn workers an attacker gets the limit once per worker; set REDIS_URL")


def _trust_proxies(app: Flask) -> None:
    """Behind TRUSTED_PROXIES reverse proxies, take the client address and scheme from X-Forwarded-For/-Proto.

    Off by default: without a proxy those headers come from the client and must not be believed. The host
    is never taken from X-Forwarded-Host (links use PUBLIC_BASE_URL in production).
    """
    hops = int(app.config.get("TRUSTED_PROXIES") or 0)
    if hops > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=0, x_port=0,  # type: ignore[method-assign]
                                x_prefix=0)


def create_app(config: Config | dict[str, Any] | None = None) -> Flask:
    """Application factory: `gunicorn 'portal:create_app()'`."""
    app = Flask(
        __name__,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
        instance_path=str(INSTANCE_DIR),
    )
    app.config.from_object(config_from_env())
    if isinstance(config, dict):
        app.config.update(config)
    elif config is not None:
        app.config.from_object(config)
    if not app.config.get("SECRET_KEY"):
        raise RuntimeError("SECRET_KEY is not configured")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    quiet_library_loggers()
    _production_checks(app)
    _trust_proxies(app)

    from portal.extensions import (
        babel,
        compress,
        csrf,
        db,
        htmx,
        limiter,
        login_manager,
        select_locale,
        settle_language,
    )

    db.init_app(app)
    from portal import tasks

    tasks.configure(app)  # PDFs and e-mail go to this app's queue (inline under TASKS_IMMEDIATE)
    from portal.services import changes

    changes.install()  # every transaction appends to the change feed
    csrf.init_app(app)
    compress.init_app(app)
    _compressible_static(app)
    htmx.init_app(app)
    limiter.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    app.before_request(settle_language)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.session_protection = "basic"

    from portal.services.devices import load_session_user

    login_manager.user_loader(load_session_user)
    from portal.views.api import load_token_user
    from portal.views.errors import unauthorized

    login_manager.request_loader(load_token_user)  # Bearer device tokens, /api/v1 only
    login_manager.unauthorized_handler(unauthorized)

    from portal.views import (
        account,
        admin,
        api,
        auth,
        documents,
        enterprise,
        errors,
        handoff,
        public,
        review,
        submissions,
    )

    app.register_blueprint(public.bp)
    app.register_blueprint(auth.bp)
    app.register_blueprint(enterprise.bp)
    app.register_blueprint(documents.bp)
    app.register_blueprint(review.bp)
    app.register_blueprint(submissions.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(account.bp)
    app.register_blueprint(handoff.bp)
    # The API checks CSRF itself: only requests signed in by cookie need it (Bearer tokens are not ambient).
    csrf.exempt(api.bp)
    errors.register(app)

    from portal import templating

    templating.register(app)

    from portal.commands import register_commands

    register_commands(app)
    return app
