/*
 * cache.c: a small least-recently-used cache of built objects (filter
 * banks, resampling filters) that are costly to build and asked for again
 * and again with the same parameters.
 *
 * A key is a few bytes compared bit for bit (a struct of doubles must be
 * zeroed before it is filled, so that padding compares equal).  Lookup
 * and install hold the cache's lock; building does not.  users counts the
 * callers still reading an entry, which is never evicted; a full cache
 * (every slot in use) hands the caller a private copy to free at put.
 * The values left at exit are freed then.
 */
#include <stdlib.h>
#include <string.h>

#include "rq.h"

static rq_cache *registry[16];
static int nregistry;
static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;

static void
free_all(void)
{
	pthread_mutex_lock(&registry_lock);
	for (int r = 0; r < nregistry; r++) {
		rq_cache *c = registry[r];
		pthread_mutex_lock(&c->lock);
		for (int i = 0; i < RQ_CACHE_SLOTS; i++)
			if (c->slot[i].val != NULL && c->slot[i].users == 0) {
				c->free_val(c->slot[i].val);
				memset(&c->slot[i], 0, sizeof c->slot[i]);
			}
		pthread_mutex_unlock(&c->lock);
	}
	pthread_mutex_unlock(&registry_lock);
}

/* once per cache, on its first install; atexit once for all caches */
static void
enrol(rq_cache *c)
{
	pthread_mutex_lock(&registry_lock);
	if (nregistry < (int)(sizeof registry / sizeof *registry)) {
		if (nregistry == 0 && atexit(free_all) != 0) {
			pthread_mutex_unlock(&registry_lock);
			return;
		}
		registry[nregistry++] = c;
	}
	pthread_mutex_unlock(&registry_lock);
}

int
rq_cache_get(rq_cache *c, const void *key, size_t keyn,
    int (*build)(const void *key, void *arg, void **val), void *arg,
    void **valp, int *slot)
{
	void *val = NULL;
	int v = -1, enrolnow = 0, rc;

	*slot = -1;
	*valp = NULL;
	if (keyn > RQ_CACHE_KEY)
		return RQ_EINVAL;
	pthread_mutex_lock(&c->lock);
	for (int i = 0; i < RQ_CACHE_SLOTS; i++) {
		struct rq_cache_slot *e = &c->slot[i];
		if (e->val != NULL && e->keyn == keyn &&
		    memcmp(e->key, key, keyn) == 0) {
			e->users++;
			e->stamp = ++c->clock;
			*slot = i;
			*valp = e->val;
			pthread_mutex_unlock(&c->lock);
			return RQ_OK;
		}
	}
	pthread_mutex_unlock(&c->lock);
	if ((rc = build(key, arg, &val)) != RQ_OK)
		return rc;
	pthread_mutex_lock(&c->lock);
	/* an empty slot, else the least recently used one not in use */
	for (int i = 0; i < RQ_CACHE_SLOTS; i++)
		if (c->slot[i].users == 0 &&
		    (v < 0 || c->slot[i].stamp < c->slot[v].stamp))
			v = i;
	*slot = v;
	if (v >= 0) {
		struct rq_cache_slot *e = &c->slot[v];
		if (e->val != NULL)
			c->free_val(e->val);
		memcpy(e->key, key, keyn);
		e->keyn = keyn;
		e->val = val;
		e->users = 1;
		e->stamp = ++c->clock;
		enrolnow = !c->enrolled;
		c->enrolled = 1;
	}
	pthread_mutex_unlock(&c->lock);
	if (enrolnow)
		enrol(c);
	*valp = val;
	return RQ_OK;
}

void
rq_cache_put(rq_cache *c, int slot, void *val)
{
	if (slot < 0) {
		c->free_val(val);
		return;
	}
	pthread_mutex_lock(&c->lock);
	c->slot[slot].users--;
	pthread_mutex_unlock(&c->lock);
}
