export const ADD_ONS_PATH = '/settings/add-ons'

/** The purchase's confirmation page; with JavaScript, the add-ons page shows the same as a dialog instead. */
export const PURCHASE_PATH = `${ADD_ONS_PATH}/subscribe`
