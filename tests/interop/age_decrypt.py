"""Decrypts an age file with the `age` command, typing the passphrase.

age reads passphrases only from a terminal, so this runs it on a
pseudo-terminal and answers its prompt. The passphrase comes from this
script's stdin, never from argv.

usage: age_decrypt.py AGE_FILE OUT_FILE < passphrase
"""

import os
import pty
import select
import sys

TIMEOUT_SECONDS = 30


def read_until_prompt(fd):
    seen = b""
    while b"passphrase" not in seen.lower():
        ready, _, _ = select.select([fd], [], [], TIMEOUT_SECONDS)
        if not ready:
            sys.exit(f"age showed no passphrase prompt; it said: {seen!r}")
        try:
            chunk = os.read(fd, 1024)
        except OSError:
            chunk = b""
        if not chunk:
            sys.exit(f"age exited before asking for the passphrase; it said: {seen!r}")
        seen += chunk


def drain(fd):
    said = b""
    while True:
        ready, _, _ = select.select([fd], [], [], TIMEOUT_SECONDS)
        if not ready:
            return said
        try:
            chunk = os.read(fd, 1024)
        except OSError:  # the terminal closes when age exits
            return said
        if not chunk:
            return said
        said += chunk


def run_age(argv, passphrase, prompts):
    """Runs age on a pseudo-terminal, typing the passphrase at each of
    `prompts` prompts, and exits with age's status."""
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp("age", argv)
    for _ in range(prompts):
        read_until_prompt(fd)
        os.write(fd, passphrase.encode() + b"\n")
    said = drain(fd)
    _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        sys.stderr.write(said.decode(errors="replace"))
    sys.exit(code)


def main():
    age_file, out_file = sys.argv[1:]
    passphrase = sys.stdin.readline().rstrip("\n")
    run_age(["age", "--decrypt", "--output", out_file, age_file], passphrase, 1)


if __name__ == "__main__":  # age_encrypt.py imports run_age
    main()
