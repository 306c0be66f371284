"""Encrypts a file to a passphrase with the `age` command, typing the
passphrase and its confirmation on a pseudo-terminal, since age reads
passphrases only from a terminal. The passphrase comes from this script's
stdin, never from argv. See age_decrypt.py.

usage: age_encrypt.py IN_FILE AGE_FILE < passphrase
"""

import sys

from age_decrypt import run_age


def main():
    in_file, age_file = sys.argv[1:]
    passphrase = sys.stdin.readline().rstrip("\n")
    # age asks for the passphrase, then for its confirmation.
    run_age(["age", "--passphrase", "--output", age_file, in_file], passphrase, 2)


main()
