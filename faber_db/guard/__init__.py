"""The Claude Code guard: a PreToolUse/PostToolUse hook that keeps approvals of
protected work with a person, refuses raw destructive access to a protected
environment's database, and keeps faber-db's own records out of the agent's
reach. It never connects to a database and imports only what a call needs.

Modules, one job each:
  shell      split a shell command into simple commands (unwrapping bash -c, env, ssh, ...)
  project    the project's config as the guard needs it (protected environments, paths)
  faberdb    recognise faber-db calls and judge them (approvals, policy swaps, pty wrappers)
  planview   a stored plan, summarised for the person who approves it
  clients    database clients and Prisma, and whether they reach a protected database
  sql        is this SQL read-only?
  files      faber-db's files: what may not be deleted, moved or overwritten
  decision   the decision object and the hook's JSON
  hook       the entry point's logic (in-process callable), fail-safe
  record     audit-trail lines for approvals confirmed and attempts denied
"""
