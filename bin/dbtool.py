"""Small MariaDB chores for the scripts, on the server named by DATABASE_URL.

python bin/dbtool.py ping     exit 0 if the server answers
python bin/dbtool.py create   create the database if it does not exist (utf8mb4)
"""

import os
import sys

import environ
import MySQLdb


def server_connection(config: dict):
    return MySQLdb.connect(
        host=config.get("HOST") or "127.0.0.1",
        port=int(config.get("PORT") or 3306),
        user=config.get("USER") or "root",
        password=config.get("PASSWORD") or "",
        connect_timeout=3,
    )


def main(command: str) -> int:
    config = environ.Env.db_url_config(os.environ["DATABASE_URL"])
    with server_connection(config) as connection:
        if command == "create":
            name = config["NAME"].replace("`", "``")
            connection.cursor().execute(
                f"CREATE DATABASE IF NOT EXISTS `{name}` "
                "CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
            )
        elif command != "ping":
            print(__doc__, file=sys.stderr)
            return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "ping"))
