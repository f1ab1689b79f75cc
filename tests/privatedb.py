"""A MariaDB server of a test's own: its own data directory and port, started and stopped by the
test and by no one else, so a fault test never touches the machine's database server."""

import shutil
import signal
import subprocess
import time
from pathlib import Path

import MySQLdb

from .servers import free_port, wait_until

MARIADBD = shutil.which("mariadbd", path="/usr/sbin:/usr/bin") or "/usr/sbin/mariadbd"
INSTALL_DB = shutil.which("mariadb-install-db") or "mariadb-install-db"


class PrivateMariaDB:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.data = directory / "data"
        self.port = free_port()
        self.process: subprocess.Popen | None = None
        self.log = directory / "mariadbd.log"
        subprocess.run(
            [INSTALL_DB, "--no-defaults", f"--datadir={self.data}", "--user=root",
             "--auth-root-authentication-method=normal", "--skip-test-db"],
            check=True,
            capture_output=True,
        )  # fmt: skip

    def url(self, database: str) -> str:
        return f"mysql://root@127.0.0.1:{self.port}/{database}"

    def answers(self) -> bool:
        try:
            MySQLdb.connect(
                host="127.0.0.1", port=self.port, user="root", connect_timeout=1
            ).close()
        except MySQLdb.Error:
            return False
        return True

    def start(self) -> "PrivateMariaDB":
        self.process = subprocess.Popen(
            [MARIADBD, "--no-defaults", f"--datadir={self.data}", f"--port={self.port}",
             "--bind-address=127.0.0.1", f"--socket={self.directory / 'mariadbd.sock'}",
             f"--pid-file={self.directory / 'mariadbd.pid'}", "--user=root",
             "--innodb-buffer-pool-size=64M", "--skip-name-resolve",
             "--character-set-server=utf8mb4", "--collation-server=utf8mb4_unicode_ci"],
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
        )  # fmt: skip
        assert wait_until(self.answers, timeout=60), f"private MariaDB did not start: {self.log}"
        return self

    def create_database(self, name: str) -> None:
        connection = MySQLdb.connect(host="127.0.0.1", port=self.port, user="root")
        try:
            connection.cursor().execute(
                f"CREATE DATABASE IF NOT EXISTS `{name}` "
                "CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
            )
        finally:
            connection.close()

    def stop(self) -> None:
        """Stop this server (and only this one): SIGTERM, then SIGKILL after 60 s."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        deadline = time.monotonic() + 10
        while self.answers() and time.monotonic() < deadline:
            time.sleep(0.1)
