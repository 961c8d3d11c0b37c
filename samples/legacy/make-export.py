#!/usr/bin/env python3
"""Writes old-system-export.csv: a legacy export as the old loyalty system produced it.

Windows-1252 bytes (é, ü, ö, ø, – and € are one byte each), `;` between cells, CRLF line ends,
quotes only around cells that hold a `;`. Run from anywhere: python3 samples/legacy/make-export.py
"""
import csv
import io
import pathlib

HEADER = ["Campaign ID", "Campaign Title", "Notes", "Cadence", "Cycle Length", "Cycles",
          "Starts On", "Spend Target", "Enabled", "Store Codes", "Badge Steps"]

ROWS = [
    ["LGC-1001", "Café Crème Weekly Run", "Spend €25 on coffee every week", "Weekly", "1", "6", "06/07/2026", "25", "Yes", "101;102", "2;4"],
    ["LGC-1002", "Müsli Monday Streak", "Breakfast basket, every week", "Weekly", "1", "4", "13/07/2026", "15", "Yes", "", ""],
    ["LGC-1003", "Summer – Spend & Save", "Spend €60 every two weeks", "Bi-weekly", "2", "4", "04/07/2026", "60", "Live", "101;102;103", ""],
    ["LGC-1004", "Brötchen Bonus", "Bakery spend", "Weekly", "1", "8", "01/08/2026", "10", "Yes", "205", "3;5"],
    ["LGC-1005", "Crêpe Club – Autumn", "Monthly crêpe spend", "Every Month", "1", "3", "01/09/2026", "40", "Yes", "", ""],
    ["LGC-1006", "Grüne Woche", "Draft: not launched yet", "Weekly", "1", "2", "10/08/2026", "20", "No", "", ""],
    ["LGC-1007", "Fortnightly Fika", "Coffee & cake every other week", "Fortnightly", "2", "6", "15/07/2026", "30", "Yes", "101", ""],
    ["LGC-1008", "Quarterly Connoisseur", "Wine club spend", "Quarterly", "1", "4", "01/10/2026", "150", "Live", "310;311", "2;4"],
    ["LGC-1009", "Bäckerei Fortnight", "", "Bi-weekly", "2", "5", "20/07/2026", "18.50", "Yes", "205", ""],
    ["LGC-1010", "Monthly Mega Shop", "Grocery spend per month", "Every Month", "1", "6", "01/08/2026", "120", "Yes", "101;102;103;104", "3;6"],
    ["LGC-1011", "Pâtisserie Passport", "Weekly pastry spend", "Weekly", "1", "10", "07/07/2026", "12", "yes", "", "5;10"],
    ["LGC-1012", "Après-Ski Savings", "Winter gear, monthly", "every month", "1", "4", "01/11/2026", "200", "Live", "", ""],
    ["LGC-1013", "Schnäppchen Streak – Q4", "Bargain hunters", "Bi-Weekly", "2", "6", "05/10/2026", "35", "Yes", "", "2;4;6"],
    ["LGC-1014", "Début Drinks Weekly", "New drinks range", "Weekly", "1", "3", "30/06/2026", "8", "No", "", ""],
    ["LGC-1015", "Smørrebrød Sundays", "Open sandwiches, weekly", "Weekly", "1", "5", "05/07/2026", "14", "Yes", "410;411", ""],
]

out = io.StringIO()
writer = csv.writer(out, delimiter=";", quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
writer.writerow(HEADER)
writer.writerows(ROWS)
path = pathlib.Path(__file__).with_name("old-system-export.csv")
path.write_bytes(out.getvalue().encode("cp1252"))
print(f"wrote {path} ({len(ROWS)} rows)")
