"""流程到哪了 and 码上举报: a villager follows a matter by its receipt code (and reads the answer to a
report there) and reports a problem, 实名 or 匿名, with up to three photos."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for

from engine.public import photos, receipts, reports, villages
from web import db
from web.actions import attachments_folder
from web.i18n import gettext as _
from web.public.blueprint import bp
from web.security import client_address

TRAP = "website"  # the hidden field only robots fill in


@bp.get("/matters/")
def lookup():
    typed = request.args.get("code", "")
    if typed:
        code = receipts.normalize(typed)
        if code is not None:
            return redirect(url_for("public.progress", receipt=receipts.display(code)))
    error = _("回执码是 12 位字母和数字，请核对后再查") if typed else None
    return render_template("public/lookup.html", error=error, typed=typed[:40]), 400 if error else 200


@bp.get("/matters/<receipt>")
def progress(receipt: str) -> str:
    return render_template("public/progress.html", matter=receipts.progress(db.session(), receipt))


@bp.route("/villages/<code>/report", methods=["GET", "POST"])
def report(code: str):
    session = db.session()
    unit = villages.public_village(session, code)
    reports.complaint_flow(session)
    if request.method == "GET":
        return render_template(
            "public/report.html",
            village=unit,
            report=reports.Report(anonymous=None),
            errors={},
            about_choices=_about_choices(),
            limits=_limits(),
        )
    sent = reports.cleaned(
        request.form.get("what"),
        request.form.get("where"),
        request.form.get("phone"),
        request.form.get("anonymous") == "1",
        request.form.get("about"),
        request.form.get("identity"),
    )
    sent_photos = _photos()
    with db.writing() as writing:
        result = reports.submit(
            writing, code, sent, client_address(), request.form.get(TRAP, ""), sent_photos, attachments_folder()
        )
    if result.receipt:
        flash(_("举报已收到。请记下回执码，以后凭它查看办理进度。"), "success")
        return redirect(url_for("public.progress", receipt=receipts.display(result.receipt)))
    if result.wait_seconds:
        minutes = (result.wait_seconds + 59) // 60
        message, status = _("提交太频繁了，请 {n} 分钟后再试", n=minutes), 429
    elif result.refused:
        message, status = _("没能收下这份举报，请刷新页面后重新填写"), 400
    elif sent_photos:
        message, status = _("请按提示修改后再提交；照片需要重新选择"), 400
    else:
        message, status = _("请按提示修改后再提交"), 400
    errors = {name: _error_text(name, problem, result.photo_file) for name, problem in result.errors.items()}
    page = render_template(
        "public/report.html",
        village=unit,
        report=sent,
        errors=errors,
        message=message,
        about_choices=_about_choices(),
        limits=_limits(),
    )
    return page, status


def _limits() -> dict[str, int]:
    return {"photos": photos.MAX_PHOTOS, "megabytes": photos.MAX_PHOTO_BYTES // (1024 * 1024)}


def _about_choices() -> list[tuple[str, str]]:
    """Whom a report may concern, as the form offers it (value, label)."""
    labels = {"cadres": _("村干部（书记、主任、会计等）"), "supervisors": _("村务监督委员会"), "other": _("其他人或事")}
    return [(value, labels[value]) for value in reports.ABOUT]


def _photos() -> list[tuple[str, bytes]]:
    """The photos sent, ``(filename, content)``: one more than allowed at most, each read to one byte
    over its limit at most (enough to refuse it)."""
    sent = [f for f in request.files.getlist("photos") if f and f.filename]
    return [(f.filename or "", f.stream.read(photos.MAX_PHOTO_BYTES + 1)) for f in sent[: photos.MAX_PHOTOS + 1]]


def _photo_text(problem: str, filename: str) -> str:
    megabytes = 1024 * 1024
    if problem == "count":
        return _("最多上传 {n} 张照片", n=photos.MAX_PHOTOS)
    if problem == "total":
        return _("照片加起来太大了（不能超过 {n} MB），请少传几张", n=photos.MAX_TOTAL_BYTES // megabytes)
    if problem == "size":
        return _("照片「{name}」太大了（每张不能超过 {n} MB）", name=filename, n=photos.MAX_PHOTO_BYTES // megabytes)
    if problem == "type":
        return _("「{name}」不是 JPEG、PNG 或 WebP 格式的照片", name=filename)
    if problem == "pixels":
        return _("照片「{name}」的像素太多了，无法处理，请换一张", name=filename)
    return _("照片「{name}」打不开，可能已经损坏，请换一张", name=filename)


def _error_text(name: str, problem: str, filename: str = "") -> str:
    if name == "photos":
        return _photo_text(problem, filename)
    if name == "anonymous":
        return _("请选择实名举报还是匿名举报")
    if name == "phone" and problem == "anonymous":
        return _("选了匿名就不能留电话：请删掉电话号码，或者改选实名举报")
    if name == "phone" and problem == "needed":
        return _("选了实名举报，请留下电话号码；不想留电话的，请选匿名举报")
    if problem == "characters":
        return _("有无法识别的字符，请删掉后再提交")
    if name == "about":
        return _("请选择反映的是谁的问题")
    if name == "what":
        return _("请用 {low} 到 {high} 个字说明发生了什么", low=reports.WHAT_LENGTH[0], high=reports.WHAT_LENGTH[1])
    if name == "where":
        return _("请用 {low} 到 {high} 个字说明在哪里", low=reports.WHERE_LENGTH[0], high=reports.WHERE_LENGTH[1])
    return _("请填写正确的电话号码，或者留空")
