from vipplatform.exceptions import Conflict, DomainError, NotFound


class UserNotFound(NotFound):
    message = "用户不存在"

    def __init__(self, user_id: int) -> None:
        self.user_id = user_id
        super().__init__()


class VipExpiryInPast(DomainError):
    message = "VIP到期时间必须晚于当前时间"
    field = "vipExpireTime"


class UsernameTaken(Conflict):
    message = "用户名已存在"
    field = "username"
