# make install : set up .venv with the pinned stack (idempotent)
# make demo    : toy data -> train a MaskAnyNet classifier -> test it, on CPU
# make test    : the fast tier: unit tests and every command end to end at
#                its smallest size (what CI runs; about 9 min on 2 cores)
# make test-slow: the checks that models learn (@pytest.mark.slow)
#
# PYTEST_ARGS adds pytest flags, e.g. PYTEST_ARGS=--cov=mmmaskreuse;
# DEMO_CFG_OPTIONS shortens the demo, e.g. "train_cfg.max_epochs=1".
# TEST_MIN_FREE_GB: the free disk, in GiB, that `make test` and `make
# test-slow` ask for where pytest keeps its temporary folders before they
# start (what a tier writes at its peak, with a margin; 0: no check).
#
# Data and work_dirs are written under the folder make runs in, so
# `make -f path/to/Makefile demo` works from anywhere.
SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -c
ROOT := $(patsubst %/,%,$(dir $(abspath $(lastword $(MAKEFILE_LIST)))))
VENV ?= $(ROOT)/.venv
PY := $(VENV)/bin/python
DEMO_CONFIG := $(ROOT)/configs/maskanynet/toy/resnet18_toy_cls.py
DEMO_DIR ?= work_dirs/demo
TEST_MIN_FREE_GB ?= 6

.PHONY: install demo test test-slow toy-data

install:
	VENV=$(VENV) bash $(ROOT)/tools/misc/install.sh

toy-data: data/toy/toy_data.json

# written again only when the generator is newer than the data's manifest
data/toy/toy_data.json: $(ROOT)/mmmaskreuse/datasets/toy_data.py | install
	$(PY) $(ROOT)/tools/misc/make_toy_data.py --out data/toy
	touch $@

demo: toy-data
	$(PY) $(ROOT)/tools/train.py $(DEMO_CONFIG) --work-dir $(DEMO_DIR) \
		$(if $(DEMO_CFG_OPTIONS),--cfg-options $(DEMO_CFG_OPTIONS))
	$(PY) $(ROOT)/tools/test.py $(DEMO_CONFIG) \
		$$(cat $(DEMO_DIR)/last_checkpoint) --work-dir $(DEMO_DIR) \
		| tee $(DEMO_DIR)/test.log
	@grep -o 'accuracy/top1: [0-9.]*' $(DEMO_DIR)/test.log | tail -n 1 \
		| sed 's/^/demo result (toy val set, 4 classes, chance 25%): /'

test: install
	cd $(ROOT) && $(PY) -m pytest tests -m 'not slow' --durations=10 \
		--min-free-gb $(TEST_MIN_FREE_GB) \
		$(PYTEST_ARGS)

# keeps its temporary folders, passing or not: the runs' logs hold the
# figures the learning checks assert on (until the next session ends)
test-slow: install
	cd $(ROOT) && $(PY) -m pytest tests -m slow -v --durations=0 \
		-o tmp_path_retention_policy=all --min-free-gb $(TEST_MIN_FREE_GB) \
		$(PYTEST_ARGS)
