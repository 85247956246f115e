-- storagebox dispenser: a run of 100 numbers per call (-D disp=...).
SELECT sb_next(:disp, 100);
