from django.db import models


class JobRun(models.Model):
    """The last run of each periodic job (`vipplatform.jobs`), for `/metrics` and its alerts:
    written by whichever worker ran it, read by any web server."""

    task = models.CharField("任务", max_length=100, primary_key=True)
    last_success_at = models.DateTimeField("最近成功", null=True, blank=True)
    last_duration_seconds = models.FloatField("最近耗时（秒）", null=True, blank=True)
    last_failure_at = models.DateTimeField("最近失败", null=True, blank=True)
    runs = models.PositiveIntegerField("运行次数", default=0)

    class Meta:
        db_table = "job_run"
        verbose_name = "任务运行记录"
        verbose_name_plural = "任务运行记录"

    def __str__(self) -> str:
        return self.task


class ThrottleCount(models.Model):
    """Throttle counts when no shared cache is configured: the table of Django's database
    cache (`settings.CACHES["throttle"]`), declared here so that `migrate` makes it and a
    flush empties it. Columns as `createcachetable` makes them; written only by that backend."""

    cache_key = models.CharField(max_length=255, primary_key=True)
    value = models.TextField()
    expires = models.DateTimeField(db_index=True)

    class Meta:
        db_table = "throttle_count"
        verbose_name = "限流计数"
        verbose_name_plural = "限流计数"

    def __str__(self) -> str:
        return self.cache_key
