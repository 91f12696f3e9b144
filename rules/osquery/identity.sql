-- Host name, OS and people logged in.
SELECT si.hostname, si.uuid, ov.name AS os_name, ov.version AS os_version, ov.platform
FROM system_info si, os_version ov;
