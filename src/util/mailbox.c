/* mailbox: a mutex-guarded list and an eventfd; see mailbox.h. */
#include "util/mailbox.h"

#include <assert.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <unistd.h>

bool mailbox_init(mailbox *m)
{
    m->head = NULL;
    m->fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (m->fd < 0) return false;
    pthread_mutex_init(&m->mu, NULL);
    return true;
}

void mailbox_destroy(mailbox *m)
{
    if (m->fd < 0) return;
    assert(!m->head);
    close(m->fd);
    m->fd = -1;
    pthread_mutex_destroy(&m->mu);
}

void mailbox_wake(mailbox *m)
{
    uint64_t one = 1;
    ssize_t r = write(m->fd, &one, sizeof one);
    (void)r; /* fails only when the counter is saturated: a wakeup is pending then */
}

void mailbox_post(mailbox *m, mail_link *item)
{
    assert(item);
    pthread_mutex_lock(&m->mu);
    item->next = m->head;
    m->head = item;
    pthread_mutex_unlock(&m->mu);
    mailbox_wake(m);
}

mail_link *mailbox_take(mailbox *m)
{
    uint64_t v;
    ssize_t r = read(m->fd, &v, sizeof v);
    (void)r; /* EAGAIN: woken for another reason; the list says what there is */
    pthread_mutex_lock(&m->mu);
    mail_link *l = m->head;
    m->head = NULL;
    pthread_mutex_unlock(&m->mu);
    mail_link *rev = NULL; /* posted newest first: hand them out oldest first */
    while (l) {
        mail_link *n = l->next;
        l->next = rev;
        rev = l;
        l = n;
    }
    return rev;
}

bool mailbox_empty(mailbox *m)
{
    pthread_mutex_lock(&m->mu);
    bool empty = m->head == NULL;
    pthread_mutex_unlock(&m->mu);
    return empty;
}
