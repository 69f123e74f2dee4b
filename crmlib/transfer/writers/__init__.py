"""Writers of validated import rows, one per file kind (registered with their kind in
:mod:`crmlib.transfer.catalogue`); :mod:`.base` holds what they share."""
