-- Interactive sessions (Windows: one row per session, user is DOMAIN-less name).
SELECT type, user, tty, host, time, pid, sid
FROM logged_in_users
WHERE type IN ('user', 'active');
