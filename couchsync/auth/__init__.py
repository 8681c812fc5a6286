"""Authentication and authorization primitives: pure, synchronous, framework-free.

Modules: :mod:`.userctx` (who), :mod:`.passwords` (user doc hashes), :mod:`.basic` (Basic
header), :mod:`.cookies` (AuthSession cookie), :mod:`.jwt_auth` (Bearer JWT), :mod:`.security`
(``_security`` objects and member/admin checks), :mod:`.throttle` (failed-login lockout). The HTTP
middleware that wires them together lives in the API layer.
"""
