"""This app's admin: the beat schedule (django-celery-beat's periodic tasks), in Chinese: its admin
names several fields and sections in English strings no catalog translates, and lists tasks
by their code paths. Here each job is listed by its name (what it does, `settings.PERIODIC_JOBS`)
and how often, in words; the form names each task."""

from celery import current_app
from django import forms
from django.contrib import admin
from django_celery_beat.admin import PeriodicTaskAdmin, PeriodicTaskForm
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from .jobs import jobs

LABELS = {
    "name": ("名称", "便于识别的名称"),
    "regtask": ("任务", "要运行的任务"),
    "task": ("任务（代码路径）", "不在上面列表中的任务，写它的完整路径"),
    "enabled": ("启用", "取消勾选即暂停此任务"),
    "description": ("说明", ""),
    "interval": ("间隔", "每隔多久运行一次"),
    "crontab": ("Crontab 计划", "按 Crontab 表达式运行（与间隔二选一）"),
    "solar": ("日出日落计划", ""),
    "clocked": ("定时计划", "在某一时刻运行一次"),
    "start_time": ("开始时间", "在此之前不运行"),
    "last_run_at": ("上次运行时间", ""),
    "one_off": ("只运行一次", ""),
    "args": ("位置参数", "JSON 数组（这些任务都不需要）"),
    "kwargs": ("关键字参数", "JSON 对象（这些任务都不需要）"),
    "expires": ("过期时间", "在此时间之后不再运行"),
    "expire_seconds": ("过期秒数", "任务发出后多少秒内未运行即放弃"),
    "queue": ("队列", "发送到的队列（默认队列可不填）"),
    "exchange": ("交换机", "AMQP 交换机（Redis 可不填）"),
    "routing_key": ("路由键", "AMQP 路由键（Redis 可不填）"),
    "priority": ("优先级", "0-255（Redis 上 0 最高）"),
    "headers": ("消息头", "JSON 对象"),
}


def task_labels() -> list[tuple[str, str]]:
    """Every task a job may send, by its name and how staff know it: a job's task by the job's
    name (`settings.PERIODIC_JOBS`), another by its own `label` (`@shared_task(label=…)`)."""
    current_app.loader.import_default_modules()  # as a worker does at start
    by_job = {job.task: name for name, job in jobs().items()}
    return [
        (name, by_job.get(name) or getattr(task, "label", None) or name)
        for name, task in sorted(current_app.tasks.items())
        if not name.startswith("celery.")
    ]


def every(interval: IntervalSchedule | None) -> str:
    """`interval` in words: 每5分钟, 每小时, 每天."""
    if interval is None:
        return "-"
    seconds = (
        interval.every
        * {
            IntervalSchedule.DAYS: 86400,
            IntervalSchedule.HOURS: 3600,
            IntervalSchedule.MINUTES: 60,
            IntervalSchedule.SECONDS: 1,
            IntervalSchedule.MICROSECONDS: 1e-6,
        }[interval.period]
    )
    for size, unit in ((86400, "天"), (3600, "小时"), (60, "分钟"), (1, "秒")):
        if seconds >= size and seconds % size == 0:
            count = int(seconds // size)
            return f"每{unit}" if count == 1 else f"每{count}{unit}"
    return str(interval)


class JobForm(PeriodicTaskForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["regtask"].widget = forms.Select(
            choices=[("", "——")] + [(name, f"{label}（{name}）") for name, label in task_labels()]
        )
        for name, (label, help_text) in LABELS.items():
            if name in self.fields:
                self.fields[name].label = label
                self.fields[name].help_text = help_text


admin.site.unregister(PeriodicTask)


@admin.register(PeriodicTask)
class JobAdmin(PeriodicTaskAdmin):
    form = JobForm
    list_display = ["name", "enabled", "how_often", "last_run_at", "total_run_count"]
    list_filter = ["enabled"]
    date_hierarchy = None
    fieldsets = [
        (None, {"fields": ["name", "regtask", "task", "enabled", "description"]}),
        ("计划", {"fields": ["interval", "crontab", "crontab_translation", "solar", "clocked",
                            "start_time", "last_run", "one_off"]}),
        ("参数", {"fields": ["args", "kwargs"], "classes": ["collapse"]}),
        ("执行选项", {"fields": ["expires", "expire_seconds", "queue", "exchange", "routing_key",
                                "priority", "headers"], "classes": ["collapse"]}),
    ]  # fmt: skip

    readonly_fields = ["last_run", "crontab_translation"]

    @admin.display(description="上次运行时间")
    def last_run(self, task: PeriodicTask):
        return task.last_run_at or "-"

    @admin.display(description="运行频率")
    def how_often(self, task: PeriodicTask) -> str:
        if task.interval_id:
            return every(task.interval)
        if task.crontab_id:
            return f"Crontab：{task.crontab}"
        return "定时" if task.clocked_id else "-"

    @admin.display(description="Crontab 说明")
    def crontab_translation(self, task: PeriodicTask) -> str:
        return task.crontab.human_readable if task.crontab_id else "-"
