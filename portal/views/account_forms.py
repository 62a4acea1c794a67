"""The sign-in and account forms (Flask-WTF). The templates write the fields by hand, by these names.

The app-wide CSRFProtect checks every POST once, so these forms carry no token of their own.
"""

from __future__ import annotations

from flask import request
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, StringField
from wtforms.validators import EqualTo


class PostedForm(FlaskForm):
    """Reads request.form only (FlaskForm would also read a JSON body); absent fields are empty strings."""

    class Meta:
        csrf = False  # checked by CSRFProtect before the view runs

    def __init__(self) -> None:
        super().__init__(formdata=request.form)

    def refusal(self) -> str | None:
        """The first validation message (the templates show one), or None when the form is valid."""
        if self.validate():
            return None
        return str(next(iter(self.errors.values()))[0])


class LoginForm(PostedForm):
    email = StringField(default="")
    password = PasswordField(default="")
    remember = BooleanField()


class JoinForm(PostedForm):
    """Joining an enterprise account (or a unit's reviewers) through an invitation."""

    name = StringField(default="")
    language = StringField(default="")  # interface language for the new account (zh, ko, en); "" = this page's
    password = PasswordField(default="")
    password2 = PasswordField(default="", validators=[EqualTo("password", message=_l("两次输入的密码不一致。"))])


class RegisterForm(JoinForm):
    """A new enterprise account: its name, and its first staff member as in JoinForm."""

    enterprise_name = StringField(default="")
    email = StringField(default="")


class PasswordForm(PostedForm):
    current_password = PasswordField(default="")
    new_password = PasswordField(default="")
    new_password2 = PasswordField(default="",
                                  validators=[EqualTo("new_password", message=_l("两次输入的新密码不一致。"))])


class InviteForm(PostedForm):
    email = StringField(default="")


class ResendVerificationForm(PostedForm):
    next = StringField(default="")  # where to return to (checked by same_site_path)


class LanguageForm(PostedForm):
    language = StringField(default="")  # zh, ko, en, or "" to follow the browser


class TokenForm(PostedForm):
    name = StringField(default="")
    scope = StringField(default="")
