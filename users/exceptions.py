"""The user service's domain errors, with the old user service's business codes."""

from vipplatform.exceptions import Conflict, DomainError, ErrorKind, NotFound


class UserNotFound(NotFound):
    message = "用户不存在"

    def __init__(self, user_id: int) -> None:
        self.user_id = user_id
        super().__init__()


class VipExpiryInPast(DomainError):
    message = "VIP到期时间必须晚于当前时间"
    field = "vip_expire_time"


class VipExpiryTooLate(DomainError):
    message = "VIP到期时间不能晚于2099-12-31"
    field = "vip_expire_time"


class UsernameTaken(Conflict):
    message = "用户名已存在"
    field = "username"
    code = 1001


class EmailTaken(Conflict):
    message = "邮箱已被注册"
    field = "email"
    code = 1002


class AccountDisabled(DomainError):
    kind = ErrorKind.FORBIDDEN
    message = "账号已被禁用"
    code = 1005


class BadCredentials(DomainError):
    kind = ErrorKind.UNAUTHENTICATED
    message = "用户名或密码错误"
    code = 1006


class WrongOldPassword(DomainError):
    message = "原密码错误"
    field = "old_password"
    code = 1007


class CannotDeleteSelf(Conflict):
    message = "不能删除当前登录的账户"


class CannotDisableSelf(Conflict):
    message = "不能禁用当前登录的账户"


class CannotDeleteSuperuser(DomainError):
    kind = ErrorKind.FORBIDDEN
    message = "只有超级管理员可以删除超级管理员账户"
