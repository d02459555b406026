# ruff: noqa: E501
"""English for the interface's Chinese text of one area; merged into :data:`web.messages.ENGLISH`."""

from __future__ import annotations

ENGLISH: dict[str, str] = {
    # Signing in: the rate limits (engine.workspace.logins)
    "登录失败次数过多，请 {minutes} 分钟后再试": "Too many failed sign-ins. Try again in {minutes} minutes.",
    "这个账号登录失败次数过多，已暂时锁定，请 {minutes} 分钟后再试": "Too many failed sign-ins for this account; it is locked for now. Try again in {minutes} minutes.",
    "这个网络地址登录失败次数过多，请 {minutes} 分钟后再试": "Too many failed sign-ins from this network address. Try again in {minutes} minutes.",
    # Changing one's own password (web/auth.py, auth/password.html, engine.workspace.accounts)
    "修改密码": "Change password",
    "当前密码": "Current password",
    "新密码": "New password",
    "再输一遍新密码": "New password again",
    "至少 {n} 位，不要用生日、电话号码或别处用过的密码。": "At least {n} characters. Do not use a birthday, a phone number or a password you use elsewhere.",
    "您的密码是管理员设置的。请换成只有您自己知道的密码，然后才能继续使用。": "Your password was set by an administrator. Choose one only you know before you go on.",
    "修改后，其他设备上的登录都会退出。": "Afterwards you are signed out on every other device.",
    "密码已修改，其他设备上的登录已退出": "Password changed. You have been signed out on every other device.",
    "当前密码不对": "The current password is wrong",
    "两次输入的新密码不一样": "The two new passwords are not the same",
    "新密码不能和当前密码一样": "The new password must differ from the current one",
    # engine.workspace.people.check_password_strength
    "密码至少 8 位": "The password needs at least 8 characters",
    "密码太长了": "The password is too long",
}
