package client

// MinNotificationPoll is the least time between the starts of two polls of one
// notification.
const MinNotificationPoll = minNotificationPoll
