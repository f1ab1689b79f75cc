"""Background work (Celery, the beat schedule, the grant retries) and members' emails."""

from .base import DEBUG, TIME_ZONE, env

# --- Background work (Celery) and members' emails ----------------------------------------

# The broker (Redis in production: redis://host:6379/0). Without one, tasks run in-process the
# moment they are sent (eager mode): the quick start needs no broker, and `bin/run`'s beat then
# runs each job itself.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
if CELERY_TASK_ALWAYS_EAGER:
    CELERY_BROKER_URL = "memory://localhost/"  # beat connects to one, and sends nothing to it
CELERY_TASK_EAGER_PROPAGATES = False  # an eager task's failure is logged, never a request's 500
CELERY_TASK_IGNORE_RESULT = True  # no result backend: tasks record their work in the database
CELERY_RESULT_EXPIRES = None  # and so beat adds no `celery.backend_cleanup` job
# A task is acknowledged when it has finished, so a worker that dies mid-task hands it to
# another: every task is safe to run twice.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = 60
CELERY_TASK_TIME_LIMIT = 90
# Sending a task gives up quickly when the broker is down or hangs: it is sent from a request,
# after the payment has committed, and the periodic sweeps pick up what was not sent. Without a
# socket timeout a publish to a Redis that hangs would wait forever.
CELERY_BROKER_CONNECTION_TIMEOUT = env.float("CELERY_BROKER_TIMEOUT_SECONDS", default=2.0)
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.2,
}
CELERY_BROKER_TRANSPORT_OPTIONS = {
    # Redis hands an unacknowledged message to another worker after this; it must exceed the
    # longest retry delay (VIP_GRANT_RETRY_MAX_SECONDS), or a waiting retry would run twice.
    "visibility_timeout": 2 * 3600,
    "socket_timeout": CELERY_BROKER_CONNECTION_TIMEOUT,
    "socket_connect_timeout": CELERY_BROKER_CONNECTION_TIMEOUT,
}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False  # the LOGGING below, JSON lines in production
CELERY_TIMEZONE = TIME_ZONE
# The schedules live in the database (django-celery-beat) and are listed in the admin;
# `migrate` installs the jobs below that are missing (`vipplatform.jobs`) and leaves the ones
# there as staff left them. Each job's work is a service, also run by its management command.
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
PERIODIC_JOBS = {
    "对账：向支付网关查询未支付订单": {
        "task": "payments.tasks.reconcile_payments",
        "every_seconds": 300,
        "description": (
            "每5分钟，在订单过期之前：支付通知丢失的订单在仍待支付时就能查到已付款。"
            "手动运行：manage.py reconcile_payments"
        ),
    },
    "订单日汇总：新的一天与昨天": {
        "task": "payments.tasks.refresh_order_totals",
        "every_seconds": 300,
        "description": (
            "统计今天以前每一天的订单（每天一次），并重算昨天（零点前的订单可能在零点后支付），"
            "供订单统计和运营概览读取。手动运行：manage.py count_orders"
        ),
    },
    "订单日汇总：全部重算": {
        "task": "payments.tasks.recount_order_totals",
        "every_seconds": 86400,
        "description": (
            "每天重算全部日汇总：站点的其他程序用自己的SQL修改旧订单时，汇总随之更正。"
            "手动运行：manage.py count_orders --all"
        ),
    },
    "对账单：核对昨天的账单": {
        "task": "payments.tasks.reconcile_bills",
        "every_seconds": 3600,
        "description": (
            "每小时：下载各支付渠道昨天的对账单（微信支付约10点后生成）并与平台的支付和退款"
            "逐笔核对，已对账的日子不再下载。"
            "手动运行（任意一天，重新对账）：manage.py reconcile_bills --day YYYY-MM-DD"
        ),
    },
    "自动续费：提醒、预扣费通知与扣款": {
        "task": "payments.tasks.run_renewals",
        "every_seconds": 900,
        "description": (
            "每15分钟：续费前6天提醒会员（法定至少5天）；微信支付的预扣费通知（7–22点）；"
            "到期的协议各自扣款（7–22点，每期只扣一次，失败次日重试，共3次后暂停）；"
            "签约二维码过期；已取消的协议在支付平台解约。手动运行：manage.py run_renewals"
        ),
    },
    "完成处理中的退款": {
        "task": "payments.tasks.complete_refunds",
        "every_seconds": 300,
        "description": (
            "每5分钟：向支付网关查询仍在处理中的退款（银行卡退款可能需要数天），成功后扣回会员时长；"
            "网关没有收到的退款以同一退款单号重新申请（不会重复退款）。"
            "手动运行：manage.py complete_refunds"
        ),
    },
    "过期未支付订单": {
        "task": "payments.tasks.expire_orders",
        "every_seconds": 60,
        "description": (
            "把超过支付截止时间的待支付订单标为已过期。手动运行：manage.py expire_orders"
        ),
    },
    "关闭到期会员": {
        "task": "users.tasks.expire_vips",
        "every_seconds": 60,
        "description": (
            "每分钟：站点的其他服务只读 is_vip，不看到期时间。手动运行：manage.py expire_vips"
        ),
    },
    "加密其他程序写入的明文密码": {
        "task": "users.tasks.hash_plain_passwords",
        "every_seconds": 60,
        "description": (
            "每分钟：接管后其他程序（切换期间的旧用户服务）按原样写入的密码在此加密；"
            "用户登录时也会立即加密。手动运行：manage.py hash_plain_passwords"
        ),
    },
    "重试失败的VIP开通": {
        "task": "payments.tasks.retry_vip_grants",
        "every_seconds": 3600,
        "description": (
            "每个开通失败的订单各自重试（1、2、4……分钟，之后每小时）之外的兜底。"
            "手动运行：manage.py retry_vip_grants"
        ),
    },
    "会员到期提醒与到期通知邮件": {
        "task": "users.tasks.send_membership_notices",
        "every_seconds": 300,
        "description": (
            "到期前 VIP_REMINDER_DAYS 天提醒、到期后通知，每位会员每个到期时间各一次；"
            "并补发支付后未发出的支付成功邮件（消息队列曾不可用）。"
        ),
    },
    "统计有效会员数": {
        "task": "users.tasks.record_active_members",
        "every_seconds": 3600,
        "description": "记录今天的有效会员数，供运营概览的会员趋势图使用。",
    },
    "清理过期的限流计数": {
        "task": "vipplatform.tasks.prune_throttle_counts",
        "every_seconds": 3600,
        "description": (
            "限流计数存在数据库时（未配置 CACHE_URL），删除窗口已过的计数；使用Redis时没有。"
        ),
    },
    "清理被拒绝的支付通知": {
        "task": "payments.tasks.prune_notifications",
        "every_seconds": 86400,
        "description": "删除超过保留期的被拒绝支付通知。手动运行：manage.py prune_notifications",
    },
}

# A failed VIP grant is retried after 1, 2, 4 ... minutes, at most an hour apart, this many
# times; the hourly sweep (`retry_vip_grants`) takes over after that.
VIP_GRANT_RETRY_BASE_SECONDS = env.int("VIP_GRANT_RETRY_BASE_SECONDS", default=60)
VIP_GRANT_RETRY_MAX_SECONDS = env.int("VIP_GRANT_RETRY_MAX_SECONDS", default=3600)
VIP_GRANT_RETRY_ATTEMPTS = env.int("VIP_GRANT_RETRY_ATTEMPTS", default=12)

# Members' emails: the console in development, SMTP in production
# (EMAIL_URL=smtp+tls://user:password@smtp.example.com:587).
EMAIL_CONFIG = env.email_url(
    "EMAIL_URL", default="consolemail://" if DEBUG else "smtp://localhost:25"
)
vars().update(EMAIL_CONFIG)  # django-environ's recipe: EMAIL_BACKEND, EMAIL_HOST, ...
DEFAULT_FROM_EMAIL = env.str("DJANGO_DEFAULT_FROM_EMAIL", default="影视VIP会员 <noreply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT_SECONDS", default=20)
# A reminder goes this many days before a membership expires (one per member and expiry).
VIP_REMINDER_DAYS = env.int("VIP_REMINDER_DAYS", default=3)
