-- Recalls from every source in one normalised table, searched by full text
-- and corrected for typos through a word dictionary (search_terms).

-- Trigram similarity for the typo-correcting word lookup.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE TABLE recalls_enhanced (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- Agency code (CPSC, FDA, NHTSA, HEALTH_CANADA, EU_SAFETY_GATE, OECD) and
    -- the agency's own recall id: together they identify a recall, whichever
    -- data set it was read from.
    source           text NOT NULL,
    source_id        text NOT NULL,
    -- Data set the stored version came from, and its rank: a re-import only
    -- replaces a row with a version from a feed of equal or higher rank, so
    -- the import order of overlapping data sets does not matter.
    feed             text NOT NULL,
    feed_priority    smallint NOT NULL,
    recall_date      date,
    title            text NOT NULL,
    product_names    text[] NOT NULL DEFAULT '{}',
    description      text,
    brands           text[] NOT NULL DEFAULT '{}',
    manufacturers    text[] NOT NULL DEFAULT '{}',
    hazard           text,
    remedy           text,
    category         text,
    country          text,
    url              text,
    image_urls       text[] NOT NULL DEFAULT '{}',
    upcs             text[] NOT NULL DEFAULT '{}',
    is_child_product boolean NOT NULL DEFAULT false,
    -- Hash of the normalised record, so an unchanged re-import writes nothing.
    content_hash     text NOT NULL,
    -- Weighted document: title and product names A, brands B, hazard and
    -- category C, description D. Written by the import, not generated,
    -- because array_to_string is not immutable.
    search_vector    tsvector NOT NULL,
    imported_at      timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT recalls_enhanced_source_key UNIQUE (source, source_id)
);

CREATE INDEX recalls_enhanced_search_idx ON recalls_enhanced USING gin (search_vector);
CREATE INDEX recalls_enhanced_date_idx ON recalls_enhanced (recall_date DESC NULLS LAST, id);
CREATE INDEX recalls_enhanced_source_id_idx ON recalls_enhanced (source_id);
CREATE INDEX recalls_enhanced_country_idx ON recalls_enhanced (country);

-- Distinct lower-case words of titles, product names and brands with the
-- number of recalls they occur in. A search word missing from it is replaced
-- by its nearest word by trigram similarity, so "strollr" finds strollers.
-- Rebuilt after every import.
CREATE TABLE search_terms (
    word      text PRIMARY KEY,
    frequency integer NOT NULL
);

CREATE INDEX search_terms_trgm_idx ON search_terms USING gist (word gist_trgm_ops);
