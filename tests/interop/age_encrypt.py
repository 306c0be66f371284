"""Encrypts a file to a passphrase with the `age` command, typing the
passphrase and its confirmation on a pseudo-terminal, since age reads
passphrases only from a terminal. The passphrase comes from this script's
stdin, never from argv. See age_decrypt.py.

usage: age_encrypt.py IN_FILE AGE_FILE < passphrase
"""

import os
import pty
import sys

from age_decrypt import drain, read_until_prompt


def main():
    in_file, age_file = sys.argv[1:]
    passphrase = sys.stdin.readline().rstrip("\n")
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp("age", ["age", "--passphrase", "--output", age_file, in_file])
    for _ in ("enter", "confirm"):
        read_until_prompt(fd)
        os.write(fd, passphrase.encode() + b"\n")
    said = drain(fd)
    _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        sys.stderr.write(said.decode(errors="replace"))
    sys.exit(code)


main()
