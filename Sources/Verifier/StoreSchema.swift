import GRDB

/// The store's schema: append-only numbered migrations of literal SQL. Never edit a released migration; add one.
enum StoreSchema {
    static let migrations: [(name: String, sql: String)] = [
        (
            "0001-crawl-state",
            """
            CREATE TABLE feed (
                id INTEGER PRIMARY KEY,
                name TEXT NOT NULL UNIQUE,
                path TEXT NOT NULL,
                updated_at INTEGER NOT NULL
            ) STRICT;

            CREATE TABLE file (
                id INTEGER PRIMARY KEY,
                feed_id INTEGER NOT NULL REFERENCES feed(id) ON DELETE CASCADE,
                name TEXT NOT NULL,
                size INTEGER CHECK (size IS NULL OR size >= 0),
                UNIQUE (feed_id, name)
            ) STRICT;

            -- Expected hashes and where they came from. strength 2 = the feed (checksum file, Metalink, URL list),
            -- 1 = agreement among mirrors; a weaker row never replaces a stronger one.
            CREATE TABLE expected_hash (
                file_id INTEGER NOT NULL REFERENCES file(id) ON DELETE CASCADE,
                algorithm TEXT NOT NULL CHECK (algorithm IN ('blake3', 'sha256', 'sha512', 'sha1', 'md5')),
                digest BLOB NOT NULL,
                strength INTEGER NOT NULL CHECK (strength IN (1, 2)),
                source TEXT NOT NULL,
                updated_at INTEGER NOT NULL,
                PRIMARY KEY (file_id, algorithm)
            ) STRICT;

            CREATE TABLE url (
                id INTEGER PRIMARY KEY,
                file_id INTEGER NOT NULL REFERENCES file(id) ON DELETE CASCADE,
                url TEXT NOT NULL,
                host TEXT NOT NULL,
                priority INTEGER NOT NULL DEFAULT 0,
                UNIQUE (file_id, url)
            ) STRICT;
            CREATE INDEX url_host ON url(host);

            -- The current state of each URL: its last verdict and what the check saw.
            CREATE TABLE url_state (
                url_id INTEGER PRIMARY KEY REFERENCES url(id) ON DELETE CASCADE,
                verdict TEXT NOT NULL CHECK (verdict IN ('verified', 'mismatch', 'missing', 'error', 'unconfirmed')),
                reason TEXT NOT NULL,
                http_status INTEGER NOT NULL,
                final_url TEXT NOT NULL,
                complete INTEGER NOT NULL CHECK (complete IN (0, 1)),
                is_html INTEGER NOT NULL CHECK (is_html IN (0, 1)),
                size INTEGER NOT NULL,
                content_length INTEGER,
                blake3 BLOB,
                sha256 BLOB,
                sha512 BLOB,
                sha1 BLOB,
                md5 BLOB,
                etag TEXT,
                last_modified TEXT,
                checked_at INTEGER NOT NULL,
                downloaded_at INTEGER,
                verified_at INTEGER,
                next_check INTEGER NOT NULL
            ) STRICT;
            CREATE INDEX url_state_next_check ON url_state(next_check);

            -- Every check, appended.
            CREATE TABLE check_history (
                id INTEGER PRIMARY KEY,
                url_id INTEGER NOT NULL REFERENCES url(id) ON DELETE CASCADE,
                checked_at INTEGER NOT NULL,
                verdict TEXT NOT NULL,
                reason TEXT NOT NULL,
                http_status INTEGER NOT NULL,
                size INTEGER NOT NULL,
                blake3 BLOB,
                sha256 BLOB,
                not_modified INTEGER NOT NULL CHECK (not_modified IN (0, 1)),
                duration_ms INTEGER NOT NULL
            ) STRICT;
            CREATE INDEX check_history_url ON check_history(url_id, checked_at);
            """
        ),
        (
            "0002-score-book",
            """
            -- One row per crawl pass. A pass in which most URLs failed everywhere blames our own network:
            -- its checks do not count towards any mirror's standing.
            CREATE TABLE crawl_run (
                id INTEGER PRIMARY KEY,
                started_at INTEGER NOT NULL,
                finished_at INTEGER,
                own_network_failed INTEGER NOT NULL DEFAULT 0 CHECK (own_network_failed IN (0, 1))
            ) STRICT;
            ALTER TABLE check_history ADD COLUMN run_id INTEGER REFERENCES crawl_run(id) ON DELETE SET NULL;

            -- Votes on other nodes, from checking what their provide records' links serve.
            CREATE TABLE node_vote (
                node_id BLOB PRIMARY KEY CHECK (length(node_id) = 33),
                good INTEGER NOT NULL DEFAULT 0 CHECK (good >= 0),
                bad INTEGER NOT NULL DEFAULT 0 CHECK (bad >= 0),
                updated_at INTEGER NOT NULL
            ) STRICT;

            -- Every check of a peer's record, appended.
            CREATE TABLE provider_check (
                id INTEGER PRIMARY KEY,
                node_id BLOB NOT NULL CHECK (length(node_id) = 33),
                multihash BLOB NOT NULL CHECK (length(multihash) = 33),
                url TEXT NOT NULL,
                checked_at INTEGER NOT NULL,
                outcome TEXT NOT NULL,
                bytes INTEGER NOT NULL,
                up INTEGER CHECK (up IS NULL OR up IN (0, 1))
            ) STRICT;
            CREATE INDEX provider_check_node ON provider_check(node_id, checked_at);
            """
        ),
        (
            "0003-cheap-checks",
            """
            -- A CHECK (x IN (five constants)) makes SQLite build a temporary index for every row it writes: about
            -- 5 us a row, a fifth of a crawl's store time. The same rules as OR chains cost nothing. SQLite cannot
            -- change a CHECK, so the two tables written for every file and every result are rebuilt.
            CREATE TABLE url_state_new (
                url_id INTEGER PRIMARY KEY REFERENCES url(id) ON DELETE CASCADE,
                verdict TEXT NOT NULL CHECK (verdict = 'verified' OR verdict = 'mismatch' OR verdict = 'missing'
                    OR verdict = 'error' OR verdict = 'unconfirmed'),
                reason TEXT NOT NULL,
                http_status INTEGER NOT NULL,
                final_url TEXT NOT NULL,
                complete INTEGER NOT NULL CHECK (complete IN (0, 1)),
                is_html INTEGER NOT NULL CHECK (is_html IN (0, 1)),
                size INTEGER NOT NULL,
                content_length INTEGER,
                blake3 BLOB,
                sha256 BLOB,
                sha512 BLOB,
                sha1 BLOB,
                md5 BLOB,
                etag TEXT,
                last_modified TEXT,
                checked_at INTEGER NOT NULL,
                downloaded_at INTEGER,
                verified_at INTEGER,
                next_check INTEGER NOT NULL
            ) STRICT;
            INSERT INTO url_state_new (url_id, verdict, reason, http_status, final_url, complete, is_html, size,
                content_length, blake3, sha256, sha512, sha1, md5, etag, last_modified, checked_at, downloaded_at,
                verified_at, next_check)
            SELECT url_id, verdict, reason, http_status, final_url, complete, is_html, size, content_length, blake3,
                sha256, sha512, sha1, md5, etag, last_modified, checked_at, downloaded_at, verified_at, next_check
            FROM url_state;
            DROP TABLE url_state;
            ALTER TABLE url_state_new RENAME TO url_state;
            CREATE INDEX url_state_next_check ON url_state(next_check);

            CREATE TABLE expected_hash_new (
                file_id INTEGER NOT NULL REFERENCES file(id) ON DELETE CASCADE,
                algorithm TEXT NOT NULL CHECK (algorithm = 'blake3' OR algorithm = 'sha256' OR algorithm = 'sha512'
                    OR algorithm = 'sha1' OR algorithm = 'md5'),
                digest BLOB NOT NULL,
                strength INTEGER NOT NULL CHECK (strength IN (1, 2)),
                source TEXT NOT NULL,
                updated_at INTEGER NOT NULL,
                PRIMARY KEY (file_id, algorithm)
            ) STRICT;
            INSERT INTO expected_hash_new (file_id, algorithm, digest, strength, source, updated_at)
            SELECT file_id, algorithm, digest, strength, source, updated_at FROM expected_hash;
            DROP TABLE expected_hash;
            ALTER TABLE expected_hash_new RENAME TO expected_hash;
            """
        ),
        (
            "0004-bao-and-ranges",
            """
            -- The Bao tree of each large file we downloaded whole: the BLAKE3 chaining value of every 256 KiB group
            -- (32 bytes a group), from which outboards are served and Range spot-checks judged. Keyed by content, so
            -- mirrors of one file share it; pruned when no verified link of the file is left.
            CREATE TABLE bao_tree (
                blake3 BLOB PRIMARY KEY CHECK (length(blake3) = 32),
                size INTEGER NOT NULL CHECK (size > 262144),
                groups BLOB NOT NULL CHECK (length(groups) = 32 * ((size + 262143) / 262144)),
                created_at INTEGER NOT NULL
            ) STRICT;

            -- Whether a mirror (scheme://host:port) answers Range requests correctly, from one probe.
            CREATE TABLE mirror_range (
                origin TEXT PRIMARY KEY,
                honours INTEGER NOT NULL CHECK (honours = 0 OR honours = 1),
                reason TEXT NOT NULL,
                checked_at INTEGER NOT NULL
            ) STRICT;
            """
        ),
        (
            "0005-status",
            """
            -- The status pages and the mirror standings read the newest checks of a window (WHERE checked_at >= ?
            -- ORDER BY checked_at DESC LIMIT ?). Without this index SQLite scans the whole history and sorts the
            -- window in a temporary B-tree: for 100,000 checks that sort alone cost more than the rest of the status
            -- overview. It also spares the end of every crawl run a scan of the whole history (UPDATE check_history
            -- SET run_id = ? WHERE run_id IS NULL AND checked_at >= ?).
            CREATE INDEX check_history_checked_at ON check_history(checked_at);
            """
        ),
        (
            "0006-distro-indexes",
            """
            -- Expected hashes gain the stronger sources: 3 = a Metalink, 4 = a distribution index under a checked
            -- signature (2 stays a checksum file, a URL list or an unsigned index; 1 agreement among mirrors).
            CREATE TABLE expected_hash_new (
                file_id INTEGER NOT NULL REFERENCES file(id) ON DELETE CASCADE,
                algorithm TEXT NOT NULL CHECK (algorithm = 'blake3' OR algorithm = 'sha256' OR algorithm = 'sha512'
                    OR algorithm = 'sha1' OR algorithm = 'md5'),
                digest BLOB NOT NULL,
                strength INTEGER NOT NULL CHECK (strength BETWEEN 1 AND 4),
                source TEXT NOT NULL,
                updated_at INTEGER NOT NULL,
                PRIMARY KEY (file_id, algorithm)
            ) STRICT;
            INSERT INTO expected_hash_new (file_id, algorithm, digest, strength, source, updated_at)
            SELECT file_id, algorithm, digest, strength, source, updated_at FROM expected_hash;
            DROP TABLE expected_hash;
            ALTER TABLE expected_hash_new RENAME TO expected_hash;

            -- A verdict for distribution mirrors that lag: `stale` (rebuilt as 0003 did: SQLite cannot change a CHECK).
            CREATE TABLE url_state_new (
                url_id INTEGER PRIMARY KEY REFERENCES url(id) ON DELETE CASCADE,
                verdict TEXT NOT NULL CHECK (verdict = 'verified' OR verdict = 'mismatch' OR verdict = 'missing'
                    OR verdict = 'error' OR verdict = 'unconfirmed' OR verdict = 'stale'),
                reason TEXT NOT NULL,
                http_status INTEGER NOT NULL,
                final_url TEXT NOT NULL,
                complete INTEGER NOT NULL CHECK (complete IN (0, 1)),
                is_html INTEGER NOT NULL CHECK (is_html IN (0, 1)),
                size INTEGER NOT NULL,
                content_length INTEGER,
                blake3 BLOB,
                sha256 BLOB,
                sha512 BLOB,
                sha1 BLOB,
                md5 BLOB,
                etag TEXT,
                last_modified TEXT,
                checked_at INTEGER NOT NULL,
                downloaded_at INTEGER,
                verified_at INTEGER,
                next_check INTEGER NOT NULL
            ) STRICT;
            INSERT INTO url_state_new (url_id, verdict, reason, http_status, final_url, complete, is_html, size,
                content_length, blake3, sha256, sha512, sha1, md5, etag, last_modified, checked_at, downloaded_at,
                verified_at, next_check)
            SELECT url_id, verdict, reason, http_status, final_url, complete, is_html, size, content_length, blake3,
                sha256, sha512, sha1, md5, etag, last_modified, checked_at, downloaded_at, verified_at, next_check
            FROM url_state;
            DROP TABLE url_state;
            ALTER TABLE url_state_new RENAME TO url_state;
            CREATE INDEX url_state_next_check ON url_state(next_check);

            -- How each distribution mirror's index chain checked out in the newest pass: signature, freshness, lag.
            CREATE TABLE mirror_index (
                feed_id INTEGER NOT NULL REFERENCES feed(id) ON DELETE CASCADE,
                repository TEXT NOT NULL,
                mirror TEXT NOT NULL,
                kind TEXT NOT NULL,
                origin TEXT NOT NULL,
                status TEXT NOT NULL,
                reason TEXT NOT NULL,
                index_date INTEGER,
                origin_date INTEGER,
                lag_seconds INTEGER,
                punished INTEGER NOT NULL CHECK (punished = 0 OR punished = 1),
                files INTEGER NOT NULL CHECK (files >= 0),
                checked_at INTEGER NOT NULL,
                PRIMARY KEY (feed_id, repository, mirror)
            ) STRICT;
            """
        ),
        (StoreRollup.migrationName, StoreRollup.schemaSQL),
    ]

    static func migrator() -> DatabaseMigrator {
        var migrator = DatabaseMigrator()
        for migration in migrations {
            let sql = migration.sql
            let name = migration.name
            migrator.registerMigration(name) { db in
                try db.execute(sql: sql)
                if name == StoreRollup.migrationName { try StoreRollup.rebuild(db) }  // the back-fill, in Swift
            }
        }
        return migrator
    }
}
