"""The rollback-manager: restore and rollback, the restore plan, verification of a
restored database against its backup's manifest, and deep verification of a backup."""
