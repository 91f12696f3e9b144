-- USB mass storage driver start type: 4 = disabled (storage blocked), 3 = on demand.
SELECT key, path, name, type, data, mtime
FROM registry
WHERE key = 'HKEY_LOCAL_MACHINE\SYSTEM\CurrentControlSet\Services\USBSTOR' AND name = 'Start';
