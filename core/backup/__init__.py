"""Keeping memories safe and portable: recovery code, verified backups, restore, export and import.

* ``recovery``: the recovery code the user writes down, and the small file that
  uses it to wrap the database key and the backup key (Argon2id + AES-GCM).
* ``archive``: the backup file format (a zip holding the encrypted database and
  its manifest).
* ``backups``: making, verifying, listing and thinning backups.
* ``restore``: putting a backup in place of the current database.
* ``exporting`` / ``importing``: JSON, Markdown and CSV out; JSON back in.
* ``jobs``: the scheduled backup; ``cli``: the commands.

SQL lives in ``core.store.backup`` and ``core.store.transfer``.
"""
