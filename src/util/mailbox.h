/* mailbox: hands items from any thread to one event loop. Posting links
 * the item into a list under a mutex and makes an eventfd readable; the
 * loop watches that fd in its epoll set and takes the whole list at once.
 * Items are intrusive (a mail_link inside them), so posting allocates
 * nothing and cannot fail. */
#ifndef AC_UTIL_MAILBOX_H
#define AC_UTIL_MAILBOX_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct mail_link {
    struct mail_link *next;
} mail_link;

typedef struct mailbox {
    pthread_mutex_t mu;
    mail_link *head; /* newest first */
    int fd;          /* eventfd: readable while something was posted */
} mailbox;

/* False when no eventfd could be made. */
bool mailbox_init(mailbox *m);
void mailbox_destroy(mailbox *m);

/* Any thread. */
void mailbox_post(mailbox *m, mail_link *item);
/* Only wakes the loop (e.g. to make it look at a stop flag). */
void mailbox_wake(mailbox *m);
/* The loop: everything posted so far, oldest first (NULL: nothing). */
mail_link *mailbox_take(mailbox *m);
/* Whether nothing is waiting to be taken. */
bool mailbox_empty(mailbox *m);

#define MAIL_ITEM(link, type, member) ((type *)((char *)(link)-offsetof(type, member)))

#endif
