# Two commands: `make serve` runs the registry on embedded defaults, `make test` runs the suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha256sum | cut -c1-12)
PYTEST_ARGS ?=
# The parts of the suite that touch the database run a second time on PostgreSQL.
DB_TESTS := tests/functional tests/unit/app
# Publish, download, unpublish and race tests run again with blobs in S3 (issue 16: moto's
# server mode on loopback, VOUCH_TEST_BLOB_STORE=s3). The X-Accel-Redirect test is about the
# blob directory, which S3 has not.
S3_TESTS := tests/functional/test_publish.py tests/functional/test_unpublish_window.py \
	tests/functional/test_publish_races.py tests/functional/test_publish_rejections.py \
	tests/functional/test_lifecycle_races.py::test_downloads_racing_an_unpublish_are_whole_or_410 \
	tests/functional/test_lifecycle_races.py::test_publish_racing_unpublish_of_the_only_other_user_of_the_bytes \
	tests/functional/test_lifecycle_races.py::test_sweep_racing_a_publish_that_reuses_orphaned_bytes \
	--deselect tests/functional/test_publish.py::test_downloads_can_be_handed_to_the_proxy

.PHONY: serve test test-sqlite test-s3 test-postgres lint typecheck bench clean venv

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $@

HOST ?= 127.0.0.1
PORT ?= 8000

serve: $(STAMP)
	$(BIN)/vouch serve --host $(HOST) --port $(PORT)

test: $(STAMP)
	$(BIN)/python scripts/test_browser_deps.py
	$(BIN)/pytest -n 2 -p no:cacheprovider $(PYTEST_ARGS)
	@echo "== publish, download, unpublish and races again, with blobs in S3 (moto) =="
	VOUCH_TEST_BLOB_STORE=s3 $(BIN)/pytest -n 2 -p no:cacheprovider $(S3_TESTS) $(PYTEST_ARGS)
	@status=0; $(BIN)/python scripts/postgres_available.py || status=$$?; \
	if [ $$status -eq 0 ]; then \
		echo "== the database tests again, on PostgreSQL =="; \
		VOUCH_TEST_DB=postgres $(BIN)/pytest -n 2 -p no:cacheprovider $(DB_TESTS) $(PYTEST_ARGS); \
	elif [ $$status -eq 1 ]; then \
		echo "PostgreSQL is not reachable: skipping the PostgreSQL run"; \
	else \
		exit $$status; \
	fi

test-sqlite: $(STAMP)
	$(BIN)/pytest -n 2 -p no:cacheprovider $(PYTEST_ARGS)

test-s3: $(STAMP)
	VOUCH_TEST_BLOB_STORE=s3 $(BIN)/pytest -n 2 -p no:cacheprovider $(S3_TESTS) $(PYTEST_ARGS)

test-postgres: $(STAMP)
	VOUCH_TEST_DB=postgres $(BIN)/pytest -n 2 -p no:cacheprovider $(DB_TESTS) $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
