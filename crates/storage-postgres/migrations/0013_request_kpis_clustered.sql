-- Every intake adds to counters of its day in place (amount = amount + excluded.amount).
-- A tenth of each page left free lets PostgreSQL write the new row version on the same page
-- without a new entry in the key index (a HOT update), so the index does not grow with every
-- update of the hot counters. (SQLite's 0013 clusters the table by its key instead; a
-- PostgreSQL heap is not kept in key order.) Applies to pages written from now on.
ALTER TABLE request_kpis SET (fillfactor = 90);
